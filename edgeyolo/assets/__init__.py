"""The shipped model: a yolov5n-mobilenetv2 trained on edgeyolo's synthetic shapes dataset (see README)."""
