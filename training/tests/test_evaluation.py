"""The policy evaluation a round reports: diversity, correlation, win rate, KL."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.core.evaluation import (
    EvaluationSettings,
    distinct_n,
    evaluate_policy,
    pearson,
    win_rate,
)


def test_distinct_n_counts_unique_word_ngrams_over_all():
    texts = ["a b a b", "a b c"]
    # unigrams: a b a b a b c -> 3 unique of 7; bigrams: ab ba ab ab bc -> 3 of 5
    assert distinct_n(texts, 1) == pytest.approx(3 / 7)
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)
    assert distinct_n(["one"], 2) == 0.0


def test_pearson_matches_hand_value_and_is_zero_without_spread():
    # x = 1,2,3; y = 2,4,7 -> dx = -1,0,1; dy = -7/3,-1/3,8/3
    # cov = 7/3 + 8/3 = 5; |dx| = sqrt 2; |dy| = sqrt(49+1+64)/3 = sqrt(114)/3
    expected = 5 / (2**0.5 * 114**0.5 / 3)
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(expected)
    assert pearson([1, 1, 1], [2, 4, 7]) == 0.0


def test_win_rate_counts_ties_as_half():
    rewards = torch.tensor([1.0, 0.0, 2.0, 3.0])
    baseline = torch.tensor([0.0, 0.0, 5.0, 1.0])
    assert win_rate(rewards, baseline) == pytest.approx((1 + 0.5 + 0 + 1) / 4)


def test_a_policy_against_itself_has_zero_kl_and_even_odds(tiny_model_dir: Path):
    settings = EvaluationSettings(samples_per_prompt=2, max_new_tokens=8, device="cpu")
    result = evaluate_policy(
        tiny_model_dir, tiny_model_dir, tiny_model_dir, ["Say hi:", "Count:"], settings
    )
    metrics = result.metrics
    assert metrics["samples"] == 4
    assert metrics["kl"] == pytest.approx(0.0, abs=1e-5)
    # Same seed, same weights: the reference draws the very same samples.
    assert metrics["win_rate_vs_reference"] == pytest.approx(0.5)
    assert metrics["mean_reward"] == pytest.approx(metrics["reference_mean_reward"])
    assert 0.0 <= metrics["distinct_1"] <= 1.0
    assert [set(p) for p in result.points] == [{"reward", "length", "kl"}] * 4
