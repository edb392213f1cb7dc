"""Reward-model trainer: K-wise loss through the model, learning, normalisation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from training.core.batching import Text, collate, encode_prompt_completion
from training.core.data import RankingExample, load_rankings, rankings_to_pairs
from training.core.groups import collate_groups, encode_rankings, split_groups
from training.core.models import load_reward_model, read_extra, reward_scores
from training.core.reward import fold_reward_offset, reward_step, score, train_reward
from training.core.reward_config import RewardConfig
from training.tests.conftest import CPU
from training.tests.fixtures_training import synthetic_rankings

RANKINGS = [
    RankingExample("Say hi.", ["hi", "hello there", "go away"], [2, 1, 3], 2.0),
    RankingExample("Count.", ["one two", "1 2", "uno", "one"], [1, 3, 3, 2]),  # tie
    RankingExample("Name a fruit.", ["apple", "a car"], [1, 2], weight=0.5),
]


def _single_score(model: Any, tokenizer: Any, prompt: Text, completion: Text) -> Any:
    """Reward of one sequence, forwarded on its own (no batching, no padding)."""
    ids, mask = encode_prompt_completion(
        tokenizer, prompt, completion, chat_template="auto", max_length=64
    )
    batch = collate([(ids, mask)], pad_token_id=tokenizer.pad_token_id)
    return reward_scores(model, batch.input_ids, batch.attention_mask)[0]


def test_kwise_loss_equals_weighted_mean_over_explicit_pairs(reward_model: Any) -> None:
    model, tokenizer = reward_model
    groups = encode_rankings(tokenizer, RANKINGS, max_length=64, chat_template="auto")
    step = reward_step(model, RewardConfig(center_coefficient=0.0), CPU)
    with torch.no_grad():
        loss, _ = step(collate_groups(groups, pad_token_id=tokenizer.pad_token_id))
        per_ranking = []
        for ranking in RANKINGS:
            terms = [
                -F.logsigmoid(
                    _single_score(model, tokenizer, p.prompt, p.chosen)
                    - _single_score(model, tokenizer, p.prompt, p.rejected)
                )
                for p in rankings_to_pairs([ranking])
            ]
            per_ranking.append(torch.stack(terms).mean())
    weights = torch.tensor([r.weight for r in RANKINGS])
    expected = (torch.stack(per_ranking) * weights).sum() / weights.sum()
    assert torch.allclose(loss, expected, atol=1e-5)


def test_fold_offset_centres_scores_and_keeps_their_order(reward_model: Any) -> None:
    model, tokenizer = reward_model
    rankings = [RankingExample(**r) for r in synthetic_rankings(6)]
    batch = collate_groups(
        encode_rankings(tokenizer, rankings, max_length=64, chat_template="auto"),
        pad_token_id=0,
    )
    tokens = batch.tokens
    with torch.no_grad():
        model.score.weight.add_(0.5)  # give the fresh head a clear non-zero mean
        before = reward_scores(model, tokens.input_ids, tokens.attention_mask)
        offset = fold_reward_offset(model, [batch])
        after = reward_scores(model, tokens.input_ids, tokens.attention_mask)
    assert offset == pytest.approx(before.mean().item(), abs=1e-4)
    assert abs(after.mean().item()) < 1e-4
    assert torch.corrcoef(torch.stack([before, after]))[0, 1] > 0.95


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Any:
    """One short run on 120 synthetic rankings, shared by the tests below."""
    folder = tmp_path_factory.mktemp("reward")
    data = folder / "rankings.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rankings(120)))
    config = RewardConfig(
        data=str(data),
        model=str(tiny_model_dir),
        out=str(folder / "out"),
        epochs=2,
        min_steps=0,
        lr=1e-3,
        eval_fraction=0.2,
    )
    calls: list[float] = []
    result = train_reward(config, progress_callback=lambda f, _m, _x: calls.append(f))
    return config, result, calls


def test_reward_model_learns_the_hidden_rule(trained: Any) -> None:
    config, result, calls = trained
    metrics = result.metrics
    assert metrics["eval_accuracy"] >= 0.8  # chance is 0.5
    assert metrics["eval_kendall_tau"] >= 0.6
    assert metrics["eval_mean_margin"] > 0
    assert calls[-1] == pytest.approx(1.0) and len(calls) == metrics["steps"]
    out = Path(config.out)
    for name in ("config.json", "metrics.json", "loss_curve.png", "rankwise.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert read_extra(out)["reward_offset"] == pytest.approx(result.reward_offset)


def test_saved_model_scores_the_same_in_plain_transformers(trained: Any) -> None:
    config, _, _ = trained
    ours, tokenizer = load_reward_model(config.out, device=CPU)
    plain = AutoModelForSequenceClassification.from_pretrained(config.out).eval()
    plain_tokenizer = AutoTokenizer.from_pretrained(config.out)
    prompts = ["Describe the day.", "Write a short note.", "Describe the day."]
    completions = ["sunny apple sunny", "river stone", "cloud sunny"]
    encodings = [
        encode_prompt_completion(
            plain_tokenizer, p, c, chat_template=config.chat_template, max_length=64
        )
        for p, c in zip(prompts, completions, strict=True)
    ]
    tokens = collate(encodings, pad_token_id=plain_tokenizer.pad_token_id)
    with torch.no_grad():
        expected = plain(
            input_ids=tokens.input_ids, attention_mask=tokens.attention_mask
        ).logits[:, 0]
    got = score(
        ours,
        tokenizer,
        prompts,
        completions,
        chat_template=config.chat_template,
        batch_size=2,
    )
    assert torch.allclose(got, expected, atol=1e-5)
    assert got[0] > got[2] > got[1]  # more markers, more reward


def test_saved_rewards_have_mean_zero_on_the_training_completions(
    trained: Any,
) -> None:
    config, _, _ = trained
    plain = AutoModelForSequenceClassification.from_pretrained(config.out).eval()
    tokenizer = AutoTokenizer.from_pretrained(config.out)
    # As the trainer encoded them: its max_length and rendering.
    groups = encode_rankings(
        tokenizer,
        load_rankings(config.data),
        max_length=config.max_length,
        chat_template=config.chat_template,
    )
    train, _ = split_groups(groups, config.eval_fraction, config.seed)
    tokens = collate_groups(train, pad_token_id=tokenizer.pad_token_id).tokens
    with torch.no_grad():
        rewards = plain(
            input_ids=tokens.input_ids, attention_mask=tokens.attention_mask
        ).logits[:, 0]
    assert abs(rewards.mean().item()) < 1e-3
    assert rewards.std().item() > 0.5  # normalising shifted, it did not squash
