"""The shipped model: a yolov5s-mobilenetv2 trained on edgeyolo's synthetic shapes dataset (see README)."""
