"""Prediction: a trained model (or adapter) + examples JSONL -> the contract's predictions JSONL.

    llmner predict --model outputs/ds15b_fft --data data/gmb/test.jsonl --output preds.jsonl
    llmner predict-labels --model M --data data/zh_news/test.jsonl --output preds.jsonl   # classification
"""
