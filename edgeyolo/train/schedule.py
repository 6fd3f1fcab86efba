"""Optimiser with YOLOv5's parameter groups, linear warm-up and cosine learning-rate decay."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def build_optimizer(model: nn.Module, name: str, lr: float, momentum: float, weight_decay: float):
    """Three groups: BatchNorm weights (no decay), other weights (decay), biases (no decay)."""
    bn_weights, weights, biases = [], [], []
    for module in model.modules():
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter) and bias.requires_grad:
            biases.append(bias)
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.requires_grad:
            (bn_weights if isinstance(module, nn.modules.batchnorm._BatchNorm) else weights).append(weight)
    if name == "SGD":
        opt = torch.optim.SGD(bn_weights, lr=lr, momentum=momentum, nesterov=True)
    elif name == "AdamW":
        opt = torch.optim.AdamW(bn_weights, lr=lr, betas=(momentum, 0.999), weight_decay=0.0)
    else:
        raise ValueError(f"optimizer must be SGD or AdamW, got {name!r}")
    opt.add_param_group({"params": weights, "weight_decay": weight_decay})
    opt.add_param_group({"params": biases, "weight_decay": 0.0})
    return opt


def cosine_factor(epoch: float, epochs: int, final: float) -> float:
    """LR multiplier: 1 at the start, `final` at the end, cosine in between."""
    return ((1 - math.cos(epoch * math.pi / epochs)) / 2) * (final - 1) + 1


class WarmupCosine:
    """Sets each group's lr (and SGD momentum) per iteration: linear warm-up, then cosine per epoch."""

    def __init__(
        self,
        optimizer,
        lr0: float,
        lrf: float,
        epochs: int,
        warmup_iters: int,
        momentum: float,
        warmup_momentum: float = 0.8,
        warmup_bias_lr: float = 0.1,
    ) -> None:
        self.opt, self.lr0, self.lrf, self.epochs = optimizer, lr0, lrf, epochs
        self.warmup_iters, self.momentum = warmup_iters, momentum
        self.warmup_momentum, self.warmup_bias_lr = warmup_momentum, warmup_bias_lr

    def step(self, iteration: int, epoch: int) -> None:
        target = self.lr0 * cosine_factor(epoch, self.epochs, self.lrf)
        for i, group in enumerate(self.opt.param_groups):
            if iteration < self.warmup_iters:
                start = self.warmup_bias_lr if i == 2 else 0.0  # biases start high and come down
                group["lr"] = float(np.interp(iteration, [0, self.warmup_iters], [start, target]))
                if "momentum" in group:
                    group["momentum"] = float(
                        np.interp(iteration, [0, self.warmup_iters], [self.warmup_momentum, self.momentum])
                    )
            else:
                group["lr"] = target
