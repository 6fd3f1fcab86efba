"""`train`: the YOLOv5 recipe on a YOLO-format dataset, with EMA weights, per-epoch mAP and atomic
`best.pt` / `last.pt` checkpoints. Ctrl-C leaves a `last.pt` that `--resume` continues from."""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from edgeyolo.data.formats import load_data_yaml, load_split
from edgeyolo.errors import EdgeYoloError
from edgeyolo.models.checkpoint import Checkpoint, load_checkpoint, model_from_checkpoint, save_checkpoint
from edgeyolo.models.yolo import DetectionModel, create_model
from edgeyolo.train.config import TrainConfig, recipe_fields
from edgeyolo.train.ema import ModelEMA
from edgeyolo.train.loss import LossWeights, YoloLoss
from edgeyolo.train.schedule import WarmupCosine, build_optimizer


class TrainingError(EdgeYoloError):
    """Training cannot start or cannot go on."""


@dataclass
class TrainResult:
    best: Path
    last: Path
    best_map50_95: float
    best_map50: float
    history: list[dict] = field(default_factory=list)


def train(config: TrainConfig, log=print) -> TrainResult:
    """Train as configured; returns where the checkpoints are and the best validation mAP."""
    from edgeyolo.data.augment import AugmentConfig
    from edgeyolo.data.dataset import EpochSampler, YoloDataset, collate
    from edgeyolo.val import evaluate_torch_model

    resumed = _restore_recipe(config) if config.resume else None
    torch.manual_seed(config.seed)
    spec = load_data_yaml(config.data)
    problems: set[str] = set()

    def report(message: str) -> None:
        if message not in problems:
            problems.add(message)
            log(f"warning: {message}")

    train_samples = load_split(spec, "train", report)
    val_samples = load_split(spec, "val", report)
    model, state = _initial_model(config, spec.names, resumed, log)
    model.names = list(spec.names)
    # NHWC: oneDNN's depthwise and 1x1 convolutions train about 1.8x faster on CPU this way
    model = model.to(memory_format=torch.channels_last)
    out = Path(config.out or (Path(config.resume).parent if config.resume else "runs/train"))
    out.mkdir(parents=True, exist_ok=True)
    best_path, last_path = out / "best.pt", out / "last.pt"

    dataset = YoloDataset(
        train_samples,
        config.imgsz,
        augment=True,
        hyp=AugmentConfig(mosaic=config.mosaic, scale=config.scale),
        seed=config.seed,
        report=report,
    )
    if config.cache:
        # forked workers share the parent's cache; spawned ones each receive a copy
        shared = config.workers == 0 or multiprocessing.get_start_method() == "fork"
        cached = dataset.cache_images(copies=1 if shared else config.workers + 1)
        log(f"cached {cached}/{len(dataset)} training images in memory")
    sampler = EpochSampler(len(dataset), config.seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch,
        sampler=sampler,
        num_workers=config.workers,
        collate_fn=collate,
        persistent_workers=config.workers > 0,
    )
    nb = len(loader)
    loss_fn = YoloLoss(model.head, config.imgsz, LossWeights(label_smoothing=config.label_smoothing))
    optimizer = build_optimizer(model, config.optimizer, config.lr0, config.momentum, config.weight_decay)
    warmup = max(round(config.warmup_epochs * nb), 100) if config.warmup_epochs > 0 else 0
    schedule = WarmupCosine(optimizer, config.lr0, config.lrf, config.epochs, warmup, config.momentum)
    ema = ModelEMA(model)
    start_epoch, best_fitness, history = 0, -1.0, []
    if state:
        optimizer.load_state_dict(state["optimizer"])
        ema.ema.load_state_dict(state["ema"])
        ema.updates = int(state["ema_updates"])
        start_epoch, best_fitness = int(state["epochs_done"]), float(state["best_fitness"])
        history = list(state.get("history", []))
        log(f"resuming from {config.resume} after epoch {start_epoch}")
    if start_epoch >= config.epochs:
        raise TrainingError(f"{config.resume} already finished its {config.epochs} epochs")

    def save_last(epochs_done: int) -> None:
        train_state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "ema": ema.ema.state_dict(),
            "ema_updates": ema.updates,
            "epochs_done": epochs_done,
            "best_fitness": best_fitness,
            "history": history,
            "config": asdict(config),
        }
        save_checkpoint(last_path, ema.ema, spec.names, config.imgsz, {"train": train_state})

    epoch = start_epoch
    try:
        for epoch in range(start_epoch, config.epochs):
            model.train()
            sampler.set_epoch(epoch)
            mean = torch.zeros(3)
            bar = tqdm(
                loader,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                file=sys.stderr,
                dynamic_ncols=True,
                bar_format="{l_bar}{bar:20}{r_bar}",
            )
            t0 = time.perf_counter()
            for i, (images, targets, _, _) in enumerate(bar):
                schedule.step(i + nb * epoch, epoch)
                images = images.contiguous(memory_format=torch.channels_last)
                loss, items = loss_fn(model(images), targets)
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"the loss became {loss.item()} at epoch {epoch + 1}, batch {i}; "
                        "lower --lr0 or check the labels"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
                optimizer.step()
                ema.update(model)
                mean = (mean * i + items.cpu()) / (i + 1)
                bar.set_postfix(
                    box=f"{mean[0]:.4f}",
                    obj=f"{mean[1]:.4f}",
                    cls=f"{mean[2]:.4f}",
                    lr=f"{optimizer.param_groups[1]['lr']:.4g}",
                )
            record = {
                "epoch": epoch + 1,
                "box": float(mean[0]),
                "obj": float(mean[1]),
                "cls": float(mean[2]),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            if (epoch + 1) % config.val_every == 0 or epoch + 1 == config.epochs:
                result = evaluate_torch_model(ema.ema, val_samples, spec.names, config.imgsz, progress=False)
                record.update(map50=result.map50, map50_95=result.map50_95)
                fitness = 0.1 * result.map50 + 0.9 * result.map50_95
                if fitness > best_fitness:
                    best_fitness = fitness
                    save_checkpoint(
                        best_path,
                        ema.ema,
                        spec.names,
                        config.imgsz,
                        {
                            "epoch": epoch + 1,
                            "map50": result.map50,
                            "map50_95": result.map50_95,
                            "train_config": asdict(config),
                        },
                    )
            history.append(record)
            log("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
            save_last(epoch + 1)
    except KeyboardInterrupt:
        history[:] = [h for h in history if h["epoch"] <= epoch]  # only completed epochs
        save_last(epoch)  # the interrupted epoch is redone on --resume
        log(f"interrupted: {last_path} saved; continue with --resume {last_path}")
        raise
    best = load_checkpoint(best_path).meta if best_path.exists() else {}
    return TrainResult(
        best_path, last_path, float(best.get("map50_95", 0.0)), float(best.get("map50", 0.0)), history
    )


def _restore_recipe(config: TrainConfig) -> Checkpoint:
    """Load `config.resume` and put its recipe (data, schedule, augmentation...) back into `config`."""
    ckpt = load_checkpoint(config.resume, trust=config.trust_checkpoint)
    state = ckpt.meta.get("train")
    if not state:
        raise TrainingError(f"{config.resume} holds no training state (only last.pt can be resumed)")
    saved = state["config"]
    for key in recipe_fields():
        setattr(config, key, saved.get(key, getattr(config, key)))  # older checkpoints lack some keys
    config.check()
    return ckpt


def _initial_model(
    config: TrainConfig, names: list[str], resumed: Checkpoint | None, log
) -> tuple[DetectionModel, dict]:
    if resumed is not None:
        state = resumed.meta["train"]
        model = model_from_checkpoint(resumed)
        model.load_state_dict(state["model"])
        return model, state
    model = create_model(config.cfg, nc=len(names))
    if config.weights:
        ckpt = load_checkpoint(config.weights, trust=config.trust_checkpoint)
        own = model.state_dict()
        matched = {k: v for k, v in ckpt.state_dict.items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(matched, strict=False)
        log(f"fine-tuning from {config.weights}: {len(matched)}/{len(own)} tensors transferred")
    return model, {}
