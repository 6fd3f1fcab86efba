"""Training: the YOLOv5 recipe (loss, optimiser and schedule, EMA) around the model zoo."""
