from prediction.predict import predict

predict()
