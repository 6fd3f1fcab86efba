"""Datasets: YOLO-format folders described by a data.yaml, synthetic data, conversion, loading."""
