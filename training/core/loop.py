"""The training loop: steps, clipping, progress, checkpoints; it knows no method.

A recipe hands it a `step(batch) -> (loss, metrics)` callable and a function giving
each epoch's micro-batches; `accum_steps` consecutive ones make an optimiser step
(their gradients add up: gradient accumulation). The loop owns the autocast
forward, the optimiser steps, the progress bar and the checkpoint in
OUT/checkpoint/state.pt that `--resume` continues from. Steps, progress and
checkpoints count optimiser steps.

Launched data-parallel (training/core/distributed.py), every rank runs this loop on
its own shard of each step's micro-batches: the ranks start from rank 0's weights,
average their gradients before clipping and their metrics before logging, and only
rank 0 shows progress and writes checkpoints. A model sharded with FSDP has one copy
of each weight, spread over the ranks, and its backward averages the gradients
itself; its checkpoint is gathered whole to rank 0 in the unsharded layout, so
`--resume` continues with or without --fsdp and on any number of ranks.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from training.core.distributed import (
    average_gradients,
    broadcast_parameters,
    gather,
    gathered_training_state,
    is_main,
    is_sharded,
    load_training_state,
    world_size,
)
from training.core.precision import Precision

ProgressCallback = Callable[[float, str, dict[str, float]], None]
StepFn = Callable[[Any], tuple[torch.Tensor, dict[str, float]]]
EpochBatches = Callable[[int], Sequence[Any]]  # epoch -> that epoch's micro-batches
CHECKPOINT_FILE = "state.pt"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    """How long to train and where to checkpoint."""

    epochs: int
    max_grad_norm: float = 1.0  # 0 turns clipping off
    checkpoint_dir: Path | None = None
    checkpoint_every: int = 100
    resume: bool = False
    desc: str = "train"  # progress bar label
    precision: Precision = field(default_factory=Precision)  # fp32 unless told
    accum_steps: int = 1  # micro-batches per optimiser step (an epoch's last: fewer)
    # What a micro-batch's mean loss is a mean over (SFT: completion tokens), so a step
    # is the mean over all of its units on every rank; None: micro-batches weigh alike.
    micro_batch_units: Callable[[Any], float] | None = None


@dataclass
class LoopState:
    """What a checkpoint restores besides the weights: the step and the history."""

    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def train_loop(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    batches: EpochBatches,
    step: StepFn,
    settings: LoopSettings,
    progress_callback: ProgressCallback | None = None,
) -> LoopState:
    """Run `step` over each epoch's micro-batches; returns steps and history."""
    state = LoopState()
    scaler = settings.precision.scaler
    if settings.resume:
        state = load_checkpoint(
            settings.checkpoint_dir, model, optimizer, scheduler, scaler
        )
    if not is_sharded(model):  # FSDP keeps one copy of each weight: nothing to sync
        broadcast_parameters(_trainable(model))
    steps = grouped(batches, settings.accum_steps)
    total = settings.epochs * len(steps(0))
    model.train()
    bar = tqdm(
        total=total,
        initial=state.step,
        desc=settings.desc,
        mininterval=1.0,
        # Rank 0 draws it on a terminal only (None); a worker's log or a launched
        # job's trainer.log gets the progress as data, not a redrawn bar per second.
        disable=None if is_main() else True,
    )
    for micro_batches in _remaining(steps, settings.epochs, state.step):
        metrics = _optimise(model, optimizer, scheduler, step, micro_batches, settings)
        state.step += 1
        state.history.append({"step": float(state.step), **metrics})
        bar.update()
        bar.set_postfix(loss=f"{metrics['loss']:.4f}", refresh=False)
        if progress_callback is not None and is_main():
            progress_callback(state.step / total, f"step {state.step}/{total}", metrics)
        if settings.checkpoint_every and state.step % settings.checkpoint_every == 0:
            save_checkpoint(
                settings.checkpoint_dir, model, optimizer, scheduler, state, scaler
            )
    bar.close()
    save_checkpoint(settings.checkpoint_dir, model, optimizer, scheduler, state, scaler)
    return state


def grouped(batches: EpochBatches, size: int) -> EpochBatches:
    """epoch -> that epoch's optimiser steps, each `size` consecutive micro-batches."""

    def steps(epoch: int) -> list[Sequence[Any]]:
        parts = batches(epoch)
        return [parts[start : start + size] for start in range(0, len(parts), size)]

    return steps


def _remaining(batches: EpochBatches, epochs: int, done: int) -> Iterator[Any]:
    """The optimiser steps after the first `done`, epoch after epoch."""
    per_epoch = len(batches(0))
    for epoch in range(done // per_epoch if per_epoch else epochs, epochs):
        skip = max(done - epoch * per_epoch, 0)
        yield from list(batches(epoch))[skip:]


def _optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: StepFn,
    micro_batches: Sequence[Any],
    settings: LoopSettings,
) -> dict[str, float]:
    """One optimiser step over the micro-batches; their mean metrics, loss and lr."""
    precision = settings.precision
    # Last step's gradients are freed before this step's first forward allocates.
    optimizer.zero_grad(set_to_none=True)
    rows: list[dict[str, float]] = []
    weights = _loss_weights(micro_batches, settings.micro_batch_units)
    for batch, weight in zip(micro_batches, weights, strict=True):
        with precision.autocast():
            loss, metrics = step(batch)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss became {loss.item()} at this step")
        precision.backward(loss * weight)
        rows.append({"loss": loss.item(), **metrics})
    apply_update(model, optimizer, scheduler, precision, settings.max_grad_norm)
    return {**_mean_over_ranks(rows), "lr": float(scheduler.get_last_lr()[0])}


def _loss_weights(
    micro_batches: Sequence[Any], units: Callable[[Any], float] | None
) -> list[float]:
    """Each micro-batch's share of the step's loss, so gradients equal one batch's.

    Alike, each is 1/n. By units (tokens), each is its units over the step's units
    on all ranks, times the ranks, since the ranks' gradients are then averaged: an
    uneven split of tokens between micro-batches or ranks changes nothing.
    """
    if units is None:
        return [1 / len(micro_batches)] * len(micro_batches)
    counts = [float(units(batch)) for batch in micro_batches]
    total = sum(sum(rank_counts) for rank_counts in gather(counts))
    return [count * world_size() / total for count in counts]


def _mean_over_ranks(rows: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over every rank's micro-batches that report it."""
    everyone = [row for rank_rows in gather(rows) for row in rank_rows]
    keys = dict.fromkeys(key for row in everyone for key in row)
    return {
        key: sum(values) / len(values)
        for key in keys
        if (values := [row[key] for row in everyone if key in row])
    }


def apply_update(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    precision: Precision,
    max_grad_norm: float,
) -> None:
    """Average gradients over ranks, clip them, step the optimiser and the schedule.

    With fp16's scaler the gradients are unscaled before clipping, and a step whose
    gradients hold inf/NaN is skipped (the scaler then lowers its scale).
    """
    with torch.autocast(precision.device_type, enabled=False):
        _update(model, optimizer, scheduler, precision, max_grad_norm)


def _update(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    precision: Precision,
    max_grad_norm: float,
) -> None:
    # Averaged first, so every rank clips, and the scaler skips, the same gradients.
    # FSDP's backward already reduce-scattered each to its mean; the norm clipped
    # below is then over all shards (DTensor gradients) and the scaler's inf check
    # is taken over them all.
    if not is_sharded(model):
        average_gradients(_trainable(model))
    scaler = precision.scaler
    if scaler is not None:
        scaler.unscale_(optimizer)
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(_trainable(model), max_grad_norm)
    if scaler is None:
        optimizer.step()
        scheduler.step()
        return
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    if scaler.get_scale() >= scale:  # a lowered scale means the step was skipped
        scheduler.step()


def _trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Parameters that receive gradients (all, or the LoRA adapters and head)."""
    return [p for p in model.parameters() if p.requires_grad]


def make_optimizer(
    model: torch.nn.Module, *, lr: float, total_steps: int, warmup_fraction: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW on the trainable parameters with linear warmup then linear decay."""
    optimizer = torch.optim.AdamW(_trainable(model), lr=lr, weight_decay=0.0)
    warmup = max(1, round(warmup_fraction * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        # Decay to 10% rather than 0 so a resumed, longer run still learns.
        return max(0.1, 1.0 - (step - warmup) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def save_checkpoint(
    folder: Path | None,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: LoopState,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Write trained weights, optimiser, schedule, scaler, step, history atomically.

    Only rank 0 writes: every rank holds the same weights and optimiser state, or,
    sharded, every rank first sends rank 0 its shards.
    """
    if folder is None:
        return
    weights, moments = _training_state(model, optimizer)
    if not is_main():
        return
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": weights,
        "optimizer": moments,
        "scheduler": scheduler.state_dict(),
        "step": state.step,
        "history": state.history,
        "scaler": scaler.state_dict() if scaler is not None else None,
    }
    tmp = folder / f".{CHECKPOINT_FILE}.tmp-{os.getpid()}"
    torch.save(payload, tmp)
    os.replace(tmp, folder / CHECKPOINT_FILE)


def load_checkpoint(
    folder: Path | None,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None = None,
) -> LoopState:
    """Restore a checkpoint into the objects; a fresh state when there is none."""
    path = folder / CHECKPOINT_FILE if folder is not None else None
    if path is None or not path.is_file():
        log.warning("no checkpoint at %s; starting from step 0", path)
        return LoopState()
    # Sharded, every rank maps the file instead of reading it into memory: it keeps
    # only its own shard of each tensor.
    sharded = is_sharded(model)
    payload = torch.load(path, map_location="cpu", weights_only=False, mmap=sharded)
    if sharded:
        load_training_state(model, optimizer, payload["model"], payload["optimizer"])
    else:
        model.load_state_dict(payload["model"], strict=False)
        optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    if scaler is not None and payload.get("scaler"):
        scaler.load_state_dict(payload["scaler"])
    return LoopState(payload["step"], payload["history"])


def _training_state(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Trainable weights and optimiser state, whole (a sharded model's on rank 0)."""
    if is_sharded(model):
        return gathered_training_state(model, optimizer)
    # Frozen weights are the starting model's; only what trains needs saving.
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    weights = {k: v for k, v in model.state_dict().items() if k in trainable}
    return weights, optimizer.state_dict()


def checkpoint_step(folder: Path) -> int | None:
    """The step a checkpoint in `folder` was taken at, None when there is none."""
    path = folder / CHECKPOINT_FILE
    if not path.is_file():
        return None
    # mmap: only the step is read, not every tensor of the optimiser state.
    return int(
        torch.load(path, map_location="cpu", weights_only=False, mmap=True)["step"]
    )
