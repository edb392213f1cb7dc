"""Synthetic preference data with a hidden rule, for the trainer tests.

The rule: the more often a completion says MARKER, the better it ranks. A tiny model
learns it in seconds, so a test can check that learning happens, not only that the
code runs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

MARKER = "sunny"
FILLER = ["apple", "river", "stone", "cloud", "table", "music", "light", "green"]
PROMPTS = ["Describe the day.", "Tell me about the weather.", "Write a short note."]


def synthetic_completion(rng: random.Random, markers: int) -> str:
    """A few filler words with MARKER inserted `markers` times at random places."""
    words = rng.sample(FILLER, rng.randint(3, 5))
    for _ in range(markers):
        words.insert(rng.randint(0, len(words)), MARKER)
    return " ".join(words)


def synthetic_rankings(n: int, *, k: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """n ranking records; a completion with more markers ranks higher (1 = best)."""
    rng = random.Random(seed)
    records = []
    for _ in range(n):
        counts = rng.sample(range(k), k)  # distinct marker counts: no ties
        records.append(
            {
                "prompt": rng.choice(PROMPTS),
                "completions": [synthetic_completion(rng, c) for c in counts],
                "ranks": [k - c for c in counts],
            }
        )
    return records


def synthetic_pairs(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """n pair records: the chosen completion has the marker, the rejected has none."""
    rng = random.Random(seed)
    return [
        {
            "prompt": rng.choice(PROMPTS),
            "chosen": synthetic_completion(rng, 1),
            "rejected": synthetic_completion(rng, 0),
        }
        for _ in range(n)
    ]


@pytest.fixture
def rankings_file(write_jsonl: Any) -> Path:
    """200 synthetic K=4 rankings in a JSONL file."""
    return write_jsonl(synthetic_rankings(200), "rankings.jsonl")


@pytest.fixture
def pairs_file(write_jsonl: Any) -> Path:
    """160 synthetic pairs in a JSONL file."""
    return write_jsonl(synthetic_pairs(160), "pairs.jsonl")
