"""The simulation: hidden rules, the noisy annotator, the paired t, one short run."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from annotate.models import Annotation, Candidate, Prompt
from training import services
from training.models import EvaluationSet, Round
from training.simulation import (
    EVAL_PROMPTS,
    SimulationConfig,
    SimulationError,
    config_checked,
    hidden_ranking,
    keyword_score,
    length_score,
    likert_from_ranking,
    paired_t,
    prompt_split,
    score_rows,
    simulation_run,
)
from training.tests.fixtures_rounds import QUICK


def test_length_rule_counts_words_up_to_the_cap():
    assert length_score("") == 0.0
    assert length_score("  one two\nthree, four ") == 4 / 50
    assert length_score("word " * 49) == 49 / 50
    assert length_score("word " * 80) == 1.0  # capped: rambling earns nothing more


def test_keyword_rule_counts_whole_target_words_in_any_case():
    assert keyword_score("Nothing to see here.") == 0.0
    assert keyword_score("Please, THANKS, it is helpful.") == 2 / 4  # not "helpful"
    assert keyword_score("Your yours, YOU") == 2 / 4  # not "yours"
    assert keyword_score("thank you, thanks, sure, glad, happy") == 1.0  # capped at 4


def test_without_noise_outputs_rank_by_score_and_equal_scores_tie():
    scores = {11: 0.2, 12: 0.9, 13: 0.2, 14: 0.5}
    ranking = hidden_ranking(scores, noise=0.0, rng=random.Random(0))
    assert ranking == [[12], [14], [11, 13]]
    assert likert_from_ranking(ranking, k=4) == {12: 7, 14: 5, 11: 3, 13: 3}
    assert likert_from_ranking([[1], [2], [3]], k=3) == {1: 7, 2: 4, 3: 1}


def test_a_project_without_ties_gets_tied_outputs_in_random_order():
    scores = {11: 0.2, 12: 0.9, 13: 0.2, 14: 0.5}
    rankings = [
        hidden_ranking(scores, noise=0.0, rng=random.Random(seed), allow_ties=False)
        for seed in range(20)
    ]
    orders = {tuple(c for bucket in ranking for c in bucket) for ranking in rankings}
    assert all(len(bucket) == 1 for ranking in rankings for bucket in ranking)
    assert orders == {(12, 14, 11, 13), (12, 14, 13, 11)}


def test_noise_swaps_one_pair_of_neighbouring_ranks():
    scores = {1: 0.4, 2: 0.3, 3: 0.2, 4: 0.1}
    # Random(0): random() = 0.844 < 1, then randrange(3) = 1: places 2 and 3 swap.
    assert hidden_ranking(scores, noise=1.0, rng=random.Random(0)) == [
        [1],
        [3],
        [2],
        [4],
    ]
    # Random(0).random() = 0.844 is not below 0.5: no slip.
    assert hidden_ranking(scores, noise=0.5, rng=random.Random(0)) == [
        [1],
        [2],
        [3],
        [4],
    ]
    rng = random.Random(7)
    slips = sum(
        hidden_ranking(scores, noise=0.1, rng=rng) != [[1], [2], [3], [4]]
        for _ in range(4000)
    )
    assert 0.085 < slips / 4000 < 0.115


def test_paired_t_matches_the_hand_computed_value():
    # d = 1, 2, 3, 4: mean 2.5, sd = sqrt(5/3) = 1.2910, se = 0.6455, t = 3.8730.
    assert paired_t([1.0, 2.0, 3.0, 4.0]) == pytest.approx(3.8730, abs=1e-4)
    assert paired_t([0.0, 0.0, 0.0]) == 0.0  # an unchanged policy
    rows = score_rows(
        [
            {"round": 0, "prompt_scores": [0.1, 0.2, 0.3, 0.4]},
            {"round": 1, "prompt_scores": [1.1, 2.2, 3.3, 4.4]},
        ]
    )
    assert rows[0]["delta_base"] is None and rows[0]["t_base"] is None
    assert rows[1]["delta_base"] == pytest.approx(2.5)
    assert rows[1]["t_base"] == pytest.approx(3.8730, abs=1e-4)
    assert rows[1]["t_prev"] == rows[1]["t_base"]
    assert rows[1]["mean"] == pytest.approx(2.75)


def test_prompts_split_into_held_out_and_disjoint_batches():
    split = prompt_split(rounds=3, per_round=16)
    assert len(split.held_out) == EVAL_PROMPTS
    assert [len(batch) for batch in split.batches] == [16] * 4
    used = [p for batch in split.batches for p in batch]
    assert len(set(used)) == 64 and not set(used) & set(split.held_out)
    assert prompt_split(rounds=1, per_round=4).held_out == split.held_out
    with pytest.raises(SimulationError) as refused:
        prompt_split(rounds=9, per_round=16)
    assert "160 prompts" in refused.value.errors["prompts_per_round"]


def test_bad_options_are_each_named():
    config = SimulationConfig(
        project="sim",
        rule="shortest",
        rounds=0,
        noise=1.5,
        algorithm="sgd",
        generation_settings={"k": "four"},
    )
    with pytest.raises(SimulationError) as refused:
        config_checked(config)
    errors = refused.value.errors
    assert set(errors) == {"rule", "rounds", "noise", "algorithm", "generation.k"}
    assert "length, keyword" in errors["rule"]
    assert "[0, 1]" in errors["noise"]


@pytest.mark.django_db
def test_the_command_names_the_option_that_is_wrong(tmp_path):
    with pytest.raises(CommandError, match=r"--noise: 2.0 is not a probability"):
        _simulate(tmp_path, "--project sim --rule length --noise 2")
    assert not Prompt.objects.exists()  # nothing written before the checks pass


def _simulate(tmp_path: Path, options: str, **kwargs: Any) -> None:
    """`manage.py simulate OPTIONS` with QUICK's settings, writing under tmp_path."""
    args = [*options.split(), "--out", str(tmp_path / "out"), *_quick_settings()]
    call_command("simulate", *args, **kwargs)


def _quick_settings() -> list[str]:
    """QUICK's settings as --set options, outputs of 8 tokens."""
    pairs = [
        f"{group.removesuffix('_settings')}.{name}={json.dumps(value)}"
        for group, values in QUICK.items()
        for name, value in values.items()
    ]
    pairs.append("generation.max_new_tokens=8")
    return [arg for pair in pairs for arg in ("--set", pair)]


@pytest.mark.django_db(transaction=True)
def test_a_one_round_simulation_reports_base_and_round(settings, tmp_path):
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    out = StringIO()
    _simulate(
        tmp_path,
        "--project sim --rule length --rounds 1 --algorithm dpo --inline --json "
        "--prompts-per-round 6 --eval-samples 2",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    rows = report["rows"]
    assert [(r["round"], r["algorithm"]) for r in rows] == [(0, "base"), (1, "dpo")]
    assert all(len(r["prompt_scores"]) == EVAL_PROMPTS for r in rows)
    assert all(0.0 <= r["mean"] <= 1.0 for r in rows)
    assert rows[1]["delta_base"] == pytest.approx(rows[1]["mean"] - rows[0]["mean"])
    assert rows[1]["seconds"] > 0
    # 6 prompts, each ranked by all 3 simulated annotators, all trained on.
    stored = Annotation.objects.filter(assignment__prompt__project__slug="sim")
    assert stored.count() == report["annotations"] == 18
    assert rows[1]["new_rankings"] == rows[1]["rankings"] == 18
    assert {a.assignment.annotator.username for a in stored} == {
        "sim-annotator-1",
        "sim-annotator-2",
        "sim-annotator-3",
    }
    # Held-out prompts are the project's evaluation set and never get outputs; round
    # 1 wrote its new batch's outputs.
    project_prompts = Prompt.objects.filter(project__slug="sim")
    held_out = project_prompts.filter(text__in=report["eval_prompts"])
    assert held_out.count() == EVAL_PROMPTS
    assert not Candidate.objects.filter(prompt__in=held_out).exists()
    assert sorted(EvaluationSet.objects.get(project__slug="sim").prompt_ids) == sorted(
        held_out.values_list("id", flat=True)
    )
    assert project_prompts.count() == 12 + EVAL_PROMPTS
    assert Candidate.objects.filter(
        prompt__project__slug="sim", source="round-1"
    ).exists()
    assert Round.objects.get(project__slug="sim").state == Round.State.DONE
    with open(report["plot"], "rb") as plot:
        assert plot.read(8) == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "out" / "simulation.json").read_text()) == report


@pytest.mark.django_db(transaction=True)
def test_a_refused_launch_prints_the_reasons(settings, tmp_path):
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    with pytest.raises(CommandError) as refused:
        _simulate(
            tmp_path,
            "--project sim --rule length --rounds 1 --inline "
            "--prompts-per-round 1 --eval-samples 1",
        )
    # One prompt ranked by three annotators is below a round's minimum of four.
    assert str(refused.value).startswith(
        "a round was not launched:\n  data: Not enough data: 3 rankings"
    )


@pytest.mark.django_db(transaction=True)
def test_a_round_that_does_not_finish_stops_the_simulation(settings, tmp_path, queued):
    settings.RANKWISE_MODELS_DIR = tmp_path / "models"
    config = SimulationConfig(
        project="sim",
        rule="length",
        rounds=2,
        prompts_per_round=3,
        eval_samples=1,
        out=tmp_path / "out",
        **{**QUICK, "generation_settings": {"k": 3, "max_new_tokens": 8}},
    )

    def cancel(round_: Round) -> Round:
        """A lead cancels the round while it waits for a worker."""
        return services.round_cancel(round_=round_)

    with pytest.raises(SimulationError) as stopped:
        simulation_run(config=config, follow=cancel)
    assert stopped.value.errors == {"round": "round 1 ended cancelled"}
    assert len(queued) == 1  # its first job was sent to the workers, not run here
