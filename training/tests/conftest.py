"""Shared fixtures for the trainer tests: one tiny model built per session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# Tests never reach the network; set before transformers/huggingface_hub load.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from training.core.models import (  # noqa: E402
    build_tiny_model,
    load_policy,
    load_reward_model,
    load_tokenizer,
)

SAMPLE_TEXTS = [
    "What is two plus two? Two plus two is four.",
    "Tell me a joke about cats. Cats sleep all day, then judge you all night.",
    "Summarise: the meeting moved to Tuesday. The meeting is on Tuesday now.",
]
CPU = torch.device("cpu")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama + BPE tokenizer, built once for the whole session."""
    folder = tmp_path_factory.mktemp("models") / "tiny"
    return build_tiny_model(folder, texts=SAMPLE_TEXTS, seed=0)


@pytest.fixture(scope="session")
def tokenizer(tiny_model_dir: Path) -> Any:
    """The tiny model's tokenizer (left padding, pad token set)."""
    return load_tokenizer(tiny_model_dir)


@pytest.fixture
def policy(tiny_model_dir: Path) -> tuple[Any, Any]:
    """A fresh fp32 CPU copy of the tiny policy and its tokenizer, in eval mode."""
    model, tok = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    return model.eval(), tok


@pytest.fixture
def reward_model(tiny_model_dir: Path) -> tuple[Any, Any]:
    """The tiny model as a reward model; its new score head is seeded."""
    torch.manual_seed(0)
    model, tok = load_reward_model(tiny_model_dir, device=CPU, dtype=torch.float32)
    return model.eval(), tok


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as-is) to a JSONL file."""

    def write(records: Iterable[Any], name: str = "data.jsonl") -> Path:
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("".join(line + "\n" for line in lines))
        return path

    return write
