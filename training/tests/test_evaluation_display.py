"""Evaluation figures on the round and model-version pages carry their sample size."""

from __future__ import annotations

from training import selectors
from training.models import ModelVersion, Round


def _evaluation(prompts: int) -> dict:
    return {
        "judge": {"id": 1, "name": "round 1 reward model"},
        "prompt_ids": list(range(prompts)),
        "samples_per_prompt": 2,
        "policies": [],
    }


def test_an_evaluation_on_few_prompts_says_so():
    few = selectors.evaluation_summary(round_=Round(evaluation=_evaluation(1)))
    assert few["prompts"] == 1 and few["samples_per_prompt"] == 2
    assert few["warning"] == (
        "Only 1 held-out prompt × 2 samples: below 8 prompts these figures say more "
        "about the prompts drawn than about the policies. Hold out more prompts "
        "(Evaluation sets) before comparing rounds."
    )
    enough = selectors.evaluation_summary(round_=Round(evaluation=_evaluation(16)))
    assert enough["warning"] == ""
    skipped = selectors.evaluation_summary(round_=Round(evaluation={"skipped": "no"}))
    assert skipped["warning"] == ""


def test_a_reward_models_accuracy_shows_how_many_pairs_it_rests_on():
    reward = ModelVersion(kind=ModelVersion.Kind.REWARD)
    reward.metrics = {"eval_accuracy": 1 / 3, "eval_pairs": 3}
    assert selectors.key_metrics(reward) == (
        "held-out accuracy 33.3% on 3 pairs (under 30: too few to tell)"
    )
    reward.metrics = {"eval_accuracy": 0.75, "eval_pairs": 120}
    assert selectors.key_metrics(reward) == "held-out accuracy 75.0% on 120 pairs"
    reward.metrics = {"eval_accuracy": 0.0, "eval_pairs": 0}
    assert selectors.key_metrics(reward) == "no held-out pairs"


def test_counts_stored_as_floats_read_as_counts():
    flat = selectors._flat_metrics({"samples": 16.0, "kl": 0.123456, "n": 3})
    assert flat == {"samples": "16", "kl": "0.1235", "n": "3"}
