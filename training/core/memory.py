"""Memory savers for the trainable model: --gradient-checkpointing.

Checkpointing keeps only each decoder layer's input for the backward pass and recomputes
the layer's activations there: activation memory grows with the layer count, not with
every intermediate, for about one more forward of compute.
"""

from __future__ import annotations

from typing import Any

import torch

from training.core.train_config import TrainConfig


def prepare_for_training(model: Any, config: TrainConfig) -> Any:
    """`model` with gradient checkpointing on when config.gradient_checkpointing."""
    if config.gradient_checkpointing:
        # Non-reentrant checkpointing carries gradients to LoRA adapters (frozen
        # embeddings, so no input requires grad) without enable_input_require_grads.
        # (transformers 5 renamed gradient_checkpointing_enable, now deprecated.)
        model.activation_checkpointing_enable(
            activation_checkpointing_kwargs={"use_reentrant": False}
        )
        if not model.can_generate():
            # A reward model's forward would build a KV cache only for transformers
            # to drop it (with a warning) under checkpointing. A policy's saved
            # config keeps use_cache on for whoever generates from it.
            model.config.use_cache = False
    return model


def checkpoints_now(model: Any) -> bool:
    """True when `model`'s forward checkpoints: transformers then drops its KV cache.

    Transformers checkpoints only in training mode with gradients on; generation and
    no-grad evaluation keep the cache.
    """
    enabled = bool(getattr(model, "is_activation_checkpointing", False))
    return enabled and model.training and torch.is_grad_enabled()
