"""SFT trainer: prompt tokens masked, learning, in-memory examples, data sources."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from training.core.data import DataError, DemoExample, RankingExample
from training.core.groups import collate_groups, encode_group
from training.core.launch import run_launched
from training.core.models import load_policy
from training.core.sft import (
    as_demos,
    completion_tokens,
    load_demos,
    sft_step,
    train_sft,
)
from training.core.sft_config import SFTConfig
from training.tests.conftest import CPU
from training.tests.fixtures_training import PROMPTS, synthetic_completion
from training.tests.gradients import assert_same_gradients, one_step_gradients

DEMOS = [DemoExample("Say hi.", "hello there"), DemoExample("Count.", "one two")]


def test_loss_matches_transformers_with_prompt_labels_ignored(policy: Any) -> None:
    model, tokenizer = policy
    groups = [
        encode_group(
            tokenizer,
            d.prompt,
            [d.completion],
            [1],
            max_length=64,
            chat_template="auto",
        )
        for d in DEMOS
    ]
    pad = tokenizer.pad_token_id
    tokens = collate_groups(groups, pad_token_id=pad).tokens
    labels = tokens.input_ids.masked_fill(tokens.completion_mask == 0, -100)
    with torch.no_grad():
        ours, _ = sft_step(model, CPU)(collate_groups(groups, pad_token_id=pad))
        theirs = model(
            input_ids=tokens.input_ids,
            attention_mask=tokens.attention_mask,
            labels=labels,
        ).loss
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_sft_lowers_the_held_out_nll(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    rng = random.Random(0)
    records = [
        {"prompt": rng.choice(PROMPTS), "completion": synthetic_completion(rng, 1)}
        for _ in range(64)
    ]
    config = SFTConfig(
        data=str(write_jsonl(records, "demos.jsonl")),
        model=str(tiny_model_dir),
        out=str(tmp_path / "out"),
        epochs=6,
        min_steps=0,
        lr=2e-3,
        eval_fraction=0.25,
    )
    metrics = train_sft(config).metrics
    assert metrics["eval_nll"] < metrics["eval_before_nll"] - 1.0
    assert (Path(config.out) / "model.safetensors").is_file()


def test_train_sft_takes_examples_in_memory(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = SFTConfig(
        model=str(tiny_model_dir),
        out=str(tmp_path / "out"),
        epochs=1,
        min_steps=0,
        eval_fraction=0,
    )
    result = train_sft(config, examples=DEMOS)
    assert result.metrics["steps"] == 1
    assert (result.out / "rankwise_config.json").is_file()
    with pytest.raises(DataError, match="no demonstrations"):
        train_sft(config, examples=[])


def test_other_preference_data_gives_its_best_completions(write_jsonl: Any) -> None:
    ranking = RankingExample("Q", ["a", "b", "c"], [2, 1, 1])
    assert [d.completion for d in as_demos(ranking)] == ["b", "c"]
    pairs = write_jsonl([{"prompt": "Q", "chosen": "yes", "rejected": "no"}])
    assert load_demos(pairs) == [DemoExample("Q", "yes")]
    prompts = write_jsonl([{"prompt": "Q"}], "prompts.jsonl")
    with pytest.raises(DataError, match="prompts.jsonl.*no completion"):
        load_demos(prompts)


# Replies of very different lengths: a per-micro-batch mean would weigh a short
# reply's tokens far above a long one's.
UNEVEN = [
    DemoExample("Say hi.", "hi"),
    DemoExample("Describe the sea.", "the sea is wide and grey and cold " * 4),
    DemoExample("Count.", "one two"),
    DemoExample("Tell a story.", "once upon a time a fox met a crow " * 3),
]


ENCODING: dict[str, Any] = {"max_length": 64, "chat_template": "auto"}


def _sft_grads(
    tiny_model_dir: Path, out: Path, *, batch_size: int, accum: int
) -> dict[str, torch.Tensor]:
    """Gradients of one optimiser step of SFT over UNEVEN."""
    model, tokenizer = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    config = SFTConfig(
        data="unused.jsonl",
        out=str(out),
        batch_size=batch_size,
        grad_accum_steps=accum,
        epochs=1,
        min_steps=1,
        max_grad_norm=0.0,
        lr=1e-3,
        mixed_precision="no",
        device="cpu",
    )
    groups = [
        encode_group(tokenizer, d.prompt, [d.completion], [1], **ENCODING)
        for d in UNEVEN
    ]
    return one_step_gradients(
        model,
        groups,
        sft_step(model, CPU),
        config,
        pad_token_id=tokenizer.pad_token_id,
        micro_batch_units=completion_tokens,
    )


def test_accumulated_sft_weighs_every_completion_token_alike(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    whole = _sft_grads(tiny_model_dir, tmp_path / "a", batch_size=4, accum=1)
    parts = _sft_grads(tiny_model_dir, tmp_path / "b", batch_size=1, accum=4)
    assert_same_gradients(whole, parts)


def test_two_processes_train_sft_as_one_at_the_same_global_batch(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(
        [{"prompt": d.prompt, "completion": d.completion} for d in UNEVEN]
    )
    common: dict[str, Any] = {
        "data": str(data),
        "model": str(tiny_model_dir),
        "epochs": 2,
        "min_steps": 0,
        "eval_fraction": 0.0,
        "lr": 1e-3,
        "mixed_precision": "no",
        "device": "cpu",
    }
    one = train_sft(SFTConfig(**common, out=str(tmp_path / "one"), batch_size=4))
    two = run_launched(
        "sft",
        SFTConfig(**common, out=str(tmp_path / "two"), batch_size=2),
        processes=2,
        progress_callback=lambda *_: None,
        log_line=lambda _: None,
    )
    assert (one.metrics["world_size"], two.metrics["world_size"]) == (1, 2)
    assert one.metrics["steps"] == two.metrics["steps"] == 2
    weights_one = load_file(tmp_path / "one" / "model.safetensors")
    weights_two = load_file(tmp_path / "two" / "model.safetensors")
    for name, tensor in weights_one.items():
        torch.testing.assert_close(weights_two[name], tensor, atol=1e-5, rtol=0)
