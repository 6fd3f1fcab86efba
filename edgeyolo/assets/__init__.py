"""The shipped model: a yolov5s-mobilenetv2 trained on synthetic shapes (see docs/models.md)."""
