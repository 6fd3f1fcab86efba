"""Defaults shared by the CLI commands."""

DEFAULT_CFG = "yolov5-mobilenetv2"
DEFAULT_IMGSZ = 640
