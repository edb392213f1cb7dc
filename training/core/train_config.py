"""Fields every training method shares; each method's config dataclass extends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class LoraSettings:
    """Low-rank adapters (Hu et al. 2021) via peft; merged into the weights on save."""

    r: int = 8  # rank of the update; 8 is the LoRA paper's common choice
    alpha: int = 16  # scale alpha/r = 2, the usual default in peft recipes
    dropout: float = 0.0  # off: preference data sets are small and runs short
    target_modules: tuple[str, ...] | str = "all-linear"  # every Linear but the head


@dataclass(frozen=True)
class TrainConfig:
    """Data, model, output, optimisation and checkpointing settings of any trainer."""

    lr_family: ClassVar[str] = "sft"  # which anchor of schedule.LR_ANCHORS applies

    # --- what to learn from and where to write it
    data: str = field(
        default="",
        metadata={
            "help": "training data: a .jsonl or .parquet file or a datasets folder",
            "required": True,
        },
    )
    model: str | None = field(
        default=None,
        metadata={"help": "model folder or hub id; omitted: the embedded tiny model"},
    )
    out: str = field(
        default="runs/latest",
        metadata={"help": "output folder: model, metrics.json, loss_curve.png"},
    )
    # --- optimisation: a few epochs, but never so few steps that nothing moves
    epochs: int = field(default=3, metadata={"help": "passes over the training data"})
    min_steps: int = field(
        default=60,
        metadata={"help": "optimiser steps at least: epochs rise until data gives it"},
    )
    batch_size: int = field(
        default=8, metadata={"help": "prompts (rankings, pairs or demos) per step"}
    )
    lr: float | None = field(
        default=None,
        metadata={
            "help": "peak AdamW learning rate; omitted: the model-size rule "
            "(training/core/schedule.py)"
        },
    )
    warmup_fraction: float = field(
        default=0.1,
        metadata={"help": "share of steps spent warming the learning rate up"},
    )
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "clip the gradient norm to this (0: no clip)"}
    )
    max_length: int = field(
        default=256, metadata={"help": "prompt + completion tokens kept per sequence"}
    )
    seed: int = field(
        default=0, metadata={"help": "seed for the split, shuffling and init"}
    )
    # --- LoRA: off, full fine-tuning is affordable on the models we train by default
    lora: bool = field(
        default=False, metadata={"help": "train LoRA adapters instead of all weights"}
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA scale numerator"})
    # --- evaluation and checkpoints
    eval_fraction: float = field(
        default=0.1, metadata={"help": "share of prompts held out for evaluation"}
    )
    checkpoint_every: int = field(
        default=100, metadata={"help": "steps between checkpoints in OUT/checkpoint"}
    )
    resume: bool = field(
        default=False,
        metadata={"help": "continue from OUT/checkpoint when there is one"},
    )
    device: str = field(
        default="auto", metadata={"help": "auto (CUDA if present), cpu or cuda[:N]"}
    )

    def lora_settings(self) -> LoraSettings | None:
        """The LoRA settings when --lora is on, else None."""
        return LoraSettings(r=self.lora_r, alpha=self.lora_alpha) if self.lora else None
