"""Pieces every training recipe shares: setup, the loop call, and writing results.

A recipe is setup -> train -> save -> cleanup (torchtune); these helpers keep the
reward, DPO and SFT recipes to their method-specific parts.

Launched data-parallel (torchrun), every rank runs the whole recipe: each trains on
its shard of every micro-batch and computes the same final model, and rank 0 alone
writes the config, metrics, loss curve and model (the others wait at a barrier).

With --fsdp under several processes (`uses_fsdp`), `load_trainable` loads the model
on the CPU, turns gradient checkpointing on and then shards it (FSDP2), each rank
keeping 1/N of the weights on its device; training, evaluation and the DPO reference
precompute run on the sharded model, every rank doing the same forwards. At the end
the ranks gather the whole state dict to rank 0, which saves it as an unsharded run
does (`save_trained`). One process has nothing to shard over and trains unsharded.
LoRA and DPO's online sampling refuse --fsdp (see `uses_fsdp`, dpo.online_rankings).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from training.core.distributed import (
    barrier,
    gathered_state_dict,
    is_main,
    is_sharded,
    local_rank,
    shard_model,
    world_size,
)
from training.core.groups import Group, epoch_batches
from training.core.loop import (
    LoopSettings,
    LoopState,
    ProgressCallback,
    StepFn,
    grouped,
    make_optimizer,
    train_loop,
)
from training.core.memory import prepare_for_training
from training.core.models import (
    RANKWISE_CONFIG_FILE,
    pick_device,
    save_model,
    upcast_trainable,
)
from training.core.plots import plot_loss_curve
from training.core.precision import MASTER_DTYPE, resolve_precision
from training.core.schedule import epochs_for, resolve_lr
from training.core.train_config import TrainConfig

EVAL_BATCH = 16  # groups per no-grad batch when evaluating or scoring a data set
CHECKPOINT_DIR = "checkpoint"
METRICS_FILE = "metrics.json"
LOSS_CURVE_FILE = "loss_curve.png"
CPU = torch.device("cpu")
# models.load_policy / load_reward_model: (name, *, device, dtype, lora) -> (model, tok)
Loader = Callable[..., tuple[Any, Any]]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """Where the trained model went and what was measured."""

    out: Path
    metrics: dict[str, Any]


def set_seed(seed: int) -> None:
    """Seed Python and torch (all devices) so a run repeats."""
    random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA (this rank's GPU) when present; else a torch device string."""
    device = pick_device() if name == "auto" else torch.device(name)
    if device.type == "cuda" and device.index is None and world_size() > 1:
        return torch.device("cuda", local_rank())
    return device


def uses_fsdp(config: TrainConfig) -> bool:
    """Whether this run shards its model: --fsdp with several processes.

    One process has nothing to shard over and trains unsharded, the same run (as
    accelerate, whose FSDP applies only to a multi-process launch), so a job keeps
    --fsdp whatever number of processes it gets.
    """
    if not config.fsdp:
        return False
    if world_size() == 1:
        log.warning("fsdp: one process, nothing to shard over; training unsharded")
        return False
    if config.lora:
        raise ValueError(
            "lora: not supported with --fsdp (merging the adapters on save needs "
            "whole weights on one process); a LoRA run's training state is small, "
            "so run it data-parallel without --fsdp"
        )
    return True


def load_trainable(
    load: Loader, config: TrainConfig, device: torch.device
) -> tuple[Any, Any]:
    """config.model and its tokenizer via `load`, ready to train on `device`: what
    trains in fp32 (master weights); a LoRA run's frozen base as frozen models load
    (bf16 under bf16: half the memory of its weights, 15 GiB at 8B).

    Under --fsdp the whole model loads on the CPU, gradient checkpointing goes on
    before sharding (a recomputed layer then gathers its weights again in the
    backward), and sharding moves each rank's part to `device`.
    """
    sharded = uses_fsdp(config)
    base_dtype = MASTER_DTYPE
    if config.lora:
        base_dtype = resolve_precision(config.mixed_precision, device).frozen_dtype
    model, tokenizer = load(
        config.model,
        device=CPU if sharded else device,
        dtype=base_dtype,
        lora=config.lora_settings(),
    )
    upcast_trainable(model)
    model = prepare_for_training(model, config)
    return (shard_model(model, device) if sharded else model), tokenizer


def load_beside(
    policy: Any, load: Loader, name: str | None, *, dtype: torch.dtype
) -> Any:
    """A frozen model (the reference) placed as `policy` is: its device, its shards."""
    device = model_device(policy)
    if not is_sharded(policy):
        return load(name, device=device, dtype=dtype)[0]
    return shard_model(load(name, device=CPU, dtype=dtype)[0], device)


def checkpoint_dir(config: TrainConfig) -> Path:
    """OUT/checkpoint, where the loop's state and the run's config are kept."""
    return Path(config.out) / CHECKPOINT_DIR


def write_config(config: TrainConfig) -> None:
    """Save the config beside the checkpoint, so a checkpoint says how it was made."""
    if not is_main():
        return
    folder = checkpoint_dir(config)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True)
    (folder / RANKWISE_CONFIG_FILE).write_text(text + "\n")


def run_training(
    model: torch.nn.Module,
    groups: Sequence[Group],
    step: StepFn,
    config: TrainConfig,
    *,
    pad_token_id: int,
    progress_callback: ProgressCallback | None = None,
    micro_batch_units: Callable[[Any], float] | None = None,
) -> LoopState:
    """Optimise `step` over shuffled batches of `groups` as `config` says.

    batch_size groups form a micro-batch (one forward; a ranking's K completions
    always share it) and grad_accum_steps consecutive micro-batches one optimiser
    step; an epoch's last step may hold fewer. With N ranks a step takes
    batch_size x N x grad_accum_steps groups (TRL's global batch).
    """
    write_config(config)
    batches = epoch_batches(
        groups, config.batch_size, pad_token_id=pad_token_id, seed=config.seed
    )
    accum = config.accum_steps()
    steps_per_epoch = len(grouped(batches, accum)(0))
    epochs = epochs_for(config.epochs, steps_per_epoch, config.min_steps)
    optimizer, scheduler = make_optimizer(
        model,
        lr=resolve_lr(config, model),
        total_steps=epochs * steps_per_epoch,
        warmup_fraction=config.warmup_fraction,
    )
    settings = LoopSettings(
        epochs=epochs,
        max_grad_norm=config.max_grad_norm,
        checkpoint_dir=checkpoint_dir(config),
        checkpoint_every=config.checkpoint_every,
        resume=config.resume,
        desc=type(config).__name__.removesuffix("Config").lower(),
        precision=resolve_precision(
            config.mixed_precision,
            model_device(model),
            cache_casts=not is_sharded(model),
        ),
        accum_steps=accum,
        micro_batch_units=micro_batch_units,
    )
    return train_loop(
        model, optimizer, scheduler, batches, step, settings, progress_callback
    )


def write_results(
    config: TrainConfig, metrics: dict[str, Any], state: LoopState
) -> TrainResult:
    """Write metrics.json and loss_curve.png into OUT; the TrainResult for them.

    Rank 0 writes; every rank returns after it has (so OUT is complete for all).
    """
    out = Path(config.out)
    metrics = {**metrics, "steps": state.step, "world_size": world_size()}
    if state.history:
        metrics["final_train_loss"] = state.history[-1]["loss"]
    if is_main():
        text = json.dumps(metrics, indent=2, sort_keys=True)
        (out / METRICS_FILE).write_text(text + "\n")
        title = f"{type(config).__name__.removesuffix('Config')} loss"
        plot_loss_curve(state.history, out / LOSS_CURVE_FILE, title=title)
    barrier()
    return TrainResult(out, metrics)


def save_trained(
    model: Any,
    tokenizer: Any,
    config: TrainConfig,
    *,
    extra: dict[str, Any] | None = None,
) -> None:
    """Rank 0 saves the trained model to OUT; a sharded one's is gathered to it first.

    Every rank must call it: gathering the shards is collective.
    """
    weights = gathered_state_dict(model) if is_sharded(model) else None
    if is_main():
        save_model(
            model,
            tokenizer,
            Path(config.out),
            config=config,
            extra=extra,
            state_dict=weights,
        )


def merged(model: Any) -> Any:
    """The plain model with LoRA adapters merged in (unchanged if not LoRA)."""
    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def model_device(model: Any) -> torch.device:
    """The device of the model's first parameter."""
    return next(model.parameters()).device


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Average each metric over the rows (e.g. evaluation batches)."""
    if not rows:
        return {}
    return {key: sum(r[key] for r in rows) / len(rows) for key in rows[0]}
