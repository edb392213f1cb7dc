"""Fields every training method shares; each method's config dataclass extends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

PRECISIONS = ("auto", "no", "bf16", "fp16")
SAVE_DTYPES = ("auto", "float32", "bfloat16", "float16")
CHAT_TEMPLATES = ("auto", "never")


def chat_template_field() -> Any:
    """The --chat-template field: every config that encodes prompts declares it so."""
    # Instruct models (Qwen2.5, Llama 3) are trained on their template, so plain
    # prompts get it too unless the data is meant as raw text (base models, TRL's
    # standard format read literally).
    return field(
        default="auto",
        metadata={
            "help": "plain-string prompts: auto (one user turn through the "
            "tokenizer's chat template when it has one, the completion one assistant "
            "turn) or never (raw text); message lists always use the template",
            "choices": CHAT_TEMPLATES,
        },
    )


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
    # batch_size is the micro-batch (TRL's per-device batch): what one forward holds.
    batch_size: int = field(
        default=8,
        metadata={
            "help": "prompts (rankings, pairs or demos) per forward; a step takes "
            "batch_size x grad_accum_steps"
        },
    )
    grad_accum_steps: int = field(
        default=1,
        metadata={
            "help": "micro-batches whose gradients are summed into one optimiser "
            "step: the same step in less memory"
        },
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
    # 1024 keeps real conversations whole (TRL's default too); batches pad to their
    # longest row, so short data costs no more than it did at 256.
    max_length: int = field(
        default=1024, metadata={"help": "prompt + completion tokens kept per sequence"}
    )
    chat_template: str = chat_template_field()
    seed: int = field(
        default=0, metadata={"help": "seed for the split, shuffling and init"}
    )
    # --- precision: fp32 master weights; autocast only where the GPU computes bf16
    mixed_precision: str = field(
        default="auto",
        metadata={
            "help": "forward under autocast: auto (bf16 on a CUDA device that has "
            "it, else no), no, bf16 or fp16 (with a loss scaler); weights and "
            "optimiser state stay fp32",
            "choices": PRECISIONS,
        },
    )
    save_dtype: str = field(
        default="auto",
        metadata={
            "help": "dtype of the saved weights: auto (the base model's, else "
            "float32), float32, bfloat16 or float16",
            "choices": SAVE_DTYPES,
        },
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
    gradient_checkpointing: bool = field(
        default=False,
        metadata={
            "help": "recompute each layer's activations in the backward pass: "
            "less memory for about a third more compute"
        },
    )

    fsdp: bool = field(
        default=False,
        metadata={
            "help": "under torchrun / accelerate launch, shard weights, gradients and "
            "optimiser state across the processes (FSDP) instead of keeping a full "
            "copy on each: for models whose training state does not fit one GPU"
        },
    )

    def lora_settings(self) -> LoraSettings | None:
        """The LoRA settings when --lora is on, else None."""
        return LoraSettings(r=self.lora_r, alpha=self.lora_alpha) if self.lora else None

    def accum_steps(self) -> int:
        """grad_accum_steps, checked to be a positive count."""
        if self.grad_accum_steps < 1:
            raise ValueError(
                f"grad_accum_steps: expected 1 or more, got {self.grad_accum_steps}"
            )
        return self.grad_accum_steps
