"""SFT trainer: prompt tokens masked, learning, in-memory examples, data sources."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch

from training.core.data import DataError, DemoExample, RankingExample
from training.core.groups import collate_groups, encode_group
from training.core.sft import as_demos, load_demos, sft_step, train_sft
from training.core.sft_config import SFTConfig
from training.tests.conftest import CPU
from training.tests.fixtures_training import PROMPTS, synthetic_completion

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
