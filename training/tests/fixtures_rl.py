"""A synthetic RL task with a known reward, for the online trainers' tests.

The reward is the number of spaces per sampled token: a random tiny model starts near
0.2, and a policy that learns to favour space-led tokens raises it within seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

N_PROMPTS = 16
MAX_NEW_TOKENS = 8


def space_reward(prompts: Sequence[Any], completions: Sequence[str]) -> torch.Tensor:
    """Spaces per sampled token: a reward with a known direction of improvement."""
    return torch.tensor([c.count(" ") / MAX_NEW_TOKENS for c in completions])


def write_prompts(folder: Path, n: int = N_PROMPTS) -> Path:
    """n distinct prompts in TRL's prompt-only format, as folder/prompts.jsonl."""
    path = folder / "prompts.jsonl"
    lines = [json.dumps({"prompt": f"Question {i}: say something."}) for i in range(n)]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean."""
    return sum(values) / len(values)
