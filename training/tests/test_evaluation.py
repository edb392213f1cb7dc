"""The lineage evaluation a round reports: metrics by hand, one judge, a cache."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch

from training.core import evaluation
from training.core.evaluation import (
    Contestant,
    EvaluationSettings,
    Judged,
    best_in_groups,
    best_of_n_kl,
    distinct_n,
    evaluate_lineage,
    lineage_metrics,
    pearson,
    win_rate,
)
from training.core.models import load_reward_model

PROMPTS = ["Say hi:", "Count:"]
SETTINGS = EvaluationSettings(samples_per_prompt=2, max_new_tokens=8, device="cpu")


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


def test_best_of_n_kl_is_log_n_minus_n_minus_one_over_n():
    assert best_of_n_kl(1) == 0.0  # one sample: the policy itself
    assert best_of_n_kl(2) == pytest.approx(0.693147 - 0.5, abs=1e-6)
    assert best_of_n_kl(4) == pytest.approx(1.386294 - 0.75, abs=1e-6)
    assert best_of_n_kl(16) == pytest.approx(math.log(16) - 15 / 16)


def test_best_in_groups_keeps_the_first_best_of_each_run():
    scores = torch.tensor([1.0, 3.0, 2.0, 5.0, 5.0, 0.0])
    assert best_in_groups(scores, 3).tolist() == [1, 3]
    assert best_in_groups(scores, 1).tolist() == [0, 1, 2, 3, 4, 5]


def _judged(path: str, scores: list[float], best_of: int = 1, **logprobs) -> Judged:
    return Judged(
        path=path,
        scores=torch.tensor(scores, dtype=torch.float32),
        lengths=[1.0, 2.0, 3.0, 4.0],
        texts=["a b", "a b", "c", "d e"],
        logprobs={k: torch.tensor(v, dtype=torch.float64) for k, v in logprobs.items()},
        best_of=best_of,
    )


def test_lineage_metrics_by_hand():
    base = _judged("b", [0, 0, 5, 1], b=[-2, -2, -2, -2])
    parent = _judged("p", [2, 2, 1, 1], p=[-1, -1, -1, -1], b=[-1, -1, -1, -1])
    new = _judged(
        "n", [1, 0, 2, 3], n=[-1, -2, -1, -2], b=[-3, -2, -2, -2], p=[-1, -1, -1, -1]
    )
    metrics = lineage_metrics(new, base=base, parent=parent)
    assert metrics["judge_score"] == pytest.approx(1.5)
    # vs base 0,0,5,1: win, tie, loss, win; vs parent 2,2,1,1: loss, loss, win, win
    assert metrics["win_rate_vs_base"] == pytest.approx(2.5 / 4)
    assert metrics["win_rate_vs_parent"] == pytest.approx(2 / 4)
    # log-ratios to base: 2, 0, 1, 0; to parent: 0, -1, 0, -1
    assert metrics["kl_to_base"] == pytest.approx(0.75)
    assert metrics["kl_to_parent"] == pytest.approx(-0.5)
    assert metrics["mean_length"] == 2.5
    assert metrics["distinct_1"] == pytest.approx(5 / 7)  # a b a b c d e: 5 of 7
    base_metrics = lineage_metrics(base, base=base, parent=None)
    assert base_metrics["win_rate_vs_base"] == 0.5 and base_metrics["kl_to_base"] == 0
    assert base_metrics["win_rate_vs_parent"] is base_metrics["kl_to_parent"] is None


def test_best_of_n_adds_its_kl_to_the_sampling_policys():
    base = _judged("b", [0, 0, 0, 0], b=[-2, -2, -2, -2])
    bon_of_base = _judged("b", [1, 1, 1, 1], best_of=4, b=[-2, -1, -3, -2])
    metrics = lineage_metrics(bon_of_base, base=base, parent=base)
    assert metrics["kl_to_parent"] == pytest.approx(math.log(4) - 3 / 4)
    assert metrics["kl_to_base"] == metrics["kl_to_parent"]
    assert metrics["win_rate_vs_parent"] == 1.0


@pytest.fixture
def lineage(tiny_model_dir: Path, tmp_path: Path) -> list[Contestant]:
    """The tiny base, a copy of it (an unchanged policy), best-of-2 of the copy."""
    copy = tmp_path / "unchanged"
    shutil.copytree(tiny_model_dir, copy)
    cache = tmp_path / "cache"
    return [
        Contestant("base", str(tiny_model_dir), cache / "base"),
        Contestant("unchanged", str(copy), cache / "unchanged", parent="base"),
        Contestant("bon", str(copy), cache / "unchanged", "unchanged", best_of=2),
    ]


def test_an_unchanged_policy_scores_as_its_parent_under_one_judge(
    lineage: list[Contestant], tiny_model_dir: Path
):
    base, unchanged, bon = evaluate_lineage(
        lineage, judge=tiny_model_dir, prompts=PROMPTS, settings=SETTINGS
    )
    assert unchanged.metrics["judge_score"] == pytest.approx(
        base.metrics["judge_score"]
    )
    # Same seed, same weights: the very same samples, so every slot ties.
    assert unchanged.metrics["win_rate_vs_base"] == 0.5
    assert unchanged.metrics["kl_to_base"] == pytest.approx(0.0, abs=1e-6)
    assert base.metrics["win_rate_vs_parent"] is None
    assert bon.metrics["samples"] == unchanged.metrics["samples"] == 4
    assert bon.metrics["kl_to_parent"] == pytest.approx(math.log(2) - 0.5, abs=1e-6)
    assert [set(p) for p in bon.points] == [{"reward", "length", "kl"}] * 4


def test_a_newer_judge_rescores_cached_samples_without_sampling(
    lineage: list[Contestant], tiny_model_dir: Path, tmp_path: Path, monkeypatch
):
    first = evaluate_lineage(
        lineage[:2], judge=tiny_model_dir, prompts=PROMPTS, settings=SETTINGS
    )
    cached = sorted(p.name for p in (tmp_path / "cache" / "base").iterdir())
    assert len(cached) == 1 and cached[0].endswith(".jsonl")
    torch.manual_seed(1)
    newer, _ = load_reward_model(tiny_model_dir, device=torch.device("cpu"))
    shutil.copytree(tiny_model_dir, tmp_path / "newer-judge")  # its tokenizer
    newer.save_pretrained(tmp_path / "newer-judge")

    def no_policy(*args, **kwargs):
        raise AssertionError("a cached policy was loaded or sampled again")

    monkeypatch.setattr(evaluation, "load_policy", no_policy)
    monkeypatch.setattr(evaluation, "generate", no_policy)
    second = evaluate_lineage(
        lineage[:2], judge=tmp_path / "newer-judge", prompts=PROMPTS, settings=SETTINGS
    )
    assert second[1].metrics["kl_to_base"] == first[1].metrics["kl_to_base"]
    assert second[1].metrics["judge_score"] != first[1].metrics["judge_score"]
    assert sorted(p.name for p in (tmp_path / "cache" / "base").iterdir()) == cached


def test_a_contestant_must_name_a_parent_in_the_lineage(tiny_model_dir, tmp_path):
    orphan = Contestant("new", str(tiny_model_dir), tmp_path, parent="missing")
    base = Contestant("base", str(tiny_model_dir), tmp_path)
    with pytest.raises(ValueError, match="parent 'missing' is not one of"):
        evaluate_lineage([base, orphan], judge=tiny_model_dir, prompts=PROMPTS)
    with pytest.raises(ValueError, match="prompts: evaluation needs"):
        evaluate_lineage([base], judge=tiny_model_dir, prompts=[])
