"""How long and how fast to train when the user does not say: the default schedule.

Preference rounds are small (a few dozen rankings), so a fixed epoch count gives a
handful of optimiser steps and the policy does not move. Every trainer therefore runs
at least `min_steps` optimiser steps (epochs are raised until the data gives that many),
and its learning rate, when not set, follows one stated rule:

    lr = anchor(method, full or LoRA) * sqrt(7e9 / parameters)

The anchors are the published rates for ~7B models (below); the square root is the
muP-style rule that the stable rate falls as 1/width, and width grows as the square
root of the parameter count. It gives, for full fine-tuning:

    parameters       dpo      reward   rl (ppo, rloo)  sft (raft)
    8B               4.7e-7   8.4e-6   9.4e-7          9.4e-6
    0.5B             1.9e-6   3.4e-5   3.7e-6          3.7e-5
    embedded (0.8M)  4.7e-5   8.5e-4   9.4e-5          9.4e-4

LoRA uses the LoRA anchor the same way (8B: dpo 4.7e-6, reward 9.4e-5).

The rate is never set above MAX_LR: tiny models tolerate high rates, AdamW beyond
that diverges on any of them.
"""

from __future__ import annotations

import math
from typing import Any

# (full fine-tuning, LoRA) peak rates of ~7B recipes, per family of method:
LR_ANCHORS: dict[str, tuple[float, float]] = {
    # Zephyr-7B and Tulu-2 DPO: 5e-7; LoRA DPO recipes use about 10x that.
    "dpo": (5e-7, 5e-6),
    # InstructGPT's 6B reward model: 9e-6; LoRA reward models ~1e-4.
    "reward": (9e-6, 1e-4),
    # PPO/RLOO on 7B (Ahmadian et al. 2024; TRL's examples): 1e-6; LoRA 1e-5.
    "rl": (1e-6, 1e-5),
    # SFT of 7B chat models: 1e-5 (Llama 2 chat 2e-5); LoRA 2e-4 (QLoRA paper).
    "sft": (1e-5, 2e-4),
}
ANCHOR_PARAMETERS = 7e9
MAX_LR = 3e-3


def rule_lr(family: str, parameters: int, *, lora: bool) -> float:
    """The default peak learning rate for a model of `parameters` weights."""
    full, low_rank = LR_ANCHORS[family]
    anchor = low_rank if lora else full
    return min(MAX_LR, anchor * math.sqrt(ANCHOR_PARAMETERS / max(parameters, 1)))


def resolve_lr(config: Any, model: Any) -> float:
    """config.lr when set, else the rule for config's method family and `model`."""
    if config.lr is not None:
        return float(config.lr)
    return rule_lr(config.lr_family, base_parameters(model), lora=config.lora)


def base_parameters(model: Any) -> int:
    """Parameters of the underlying model (LoRA adapters not counted)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return sum(p.numel() for name, p in inner.named_parameters() if "lora_" not in name)


def epochs_for(epochs: int, steps_per_epoch: int, min_steps: int) -> int:
    """`epochs`, raised until epochs x steps_per_epoch reaches min_steps."""
    if steps_per_epoch <= 0:
        return epochs
    return max(epochs, math.ceil(min_steps / steps_per_epoch))
