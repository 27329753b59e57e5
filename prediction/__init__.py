"""Prediction: a trained model (or adapter) + examples JSONL -> the contract's predictions JSONL.

    python -m prediction --model outputs/ds15b_fft --data data/gmb/test.jsonl --output preds.jsonl
"""
