"""The module that is exported: input handling, the detector, and the chosen output layout."""

from __future__ import annotations

import torch
from torch import nn

from edgeyolo.export.nms_op import nms_outputs
from edgeyolo.models.layers.conv import ConvBNAct
from edgeyolo.models.layers.mobilenet import conv_bn_relu_maxpool
from edgeyolo.models.layers.mobilenetv4 import MobileNetV4
from edgeyolo.models.yolo import DetectionModel


def first_conv(model: DetectionModel) -> nn.Conv2d | None:
    """The convolution that alone reads the network input, if the first layer is one we can see into."""
    first = model.model[0]
    if isinstance(first, MobileNetV4):
        first = first.conv0[0]
    if isinstance(first, conv_bn_relu_maxpool):
        first = first.conv
    if isinstance(first, ConvBNAct) and first.conv.padding_mode == "zeros":
        return first.conv
    return None


def fold_uint8_bgr_input(model: DetectionModel) -> bool:
    """Fold BGR→RGB and /255 into the first conv's weights (zero padding commutes with both).
    Returns False when the first layer is not a plain conv; then the wrapper does it explicitly."""
    conv = first_conv(model)
    if conv is None or conv.in_channels != 3 or conv.groups != 1:
        return False
    with torch.no_grad():
        conv.weight.copy_(conv.weight.flip(1) / 255.0)
    return True


class ExportWrapper(nn.Module):
    """Exported graph: [uint8 NHWC BGR or float NCHW RGB] → model → raw | decoded | nms outputs."""

    def __init__(
        self,
        model: DetectionModel,
        outputs: str = "raw",
        uint8_input: bool = False,
        folded: bool = False,
        conf: float = 0.25,
        iou: float = 0.45,
        max_det: int = 300,
    ) -> None:
        super().__init__()
        self.model = model
        self.outputs = outputs
        self.uint8_input = uint8_input
        self.folded = folded
        self.conf, self.iou, self.max_det = conf, iou, max_det
        model.head.mode = "raw" if outputs == "raw" else "decoded"

    def forward(self, x: torch.Tensor):
        if self.uint8_input:
            dtype = next(self.model.parameters()).dtype
            x = x.permute(0, 3, 1, 2).to(dtype)
            if not self.folded:
                x = x.flip(1) / 255.0
        out = self.model(x)
        if self.outputs == "raw":
            return tuple(out)
        if self.outputs == "decoded":
            return out
        return nms_outputs(out, self.conf, self.iou, self.max_det)
