"""A round that mixes its base policy's outputs into the next tasks: people rank the
two versions side by side, and the human leaderboard compares them head to head."""

from __future__ import annotations

import pytest

from annotate.models import Prompt
from training import services
from training.forms import settings_groups
from training.leaderboard import leaderboard_compute
from training.models import CandidateOrigin
from training.tests.fixtures_rounds import QUICK, drain, rank_open_tasks

MIXED = {**QUICK, "generation_settings": {"k": 3, "max_new_tokens": 6}}


@pytest.mark.django_db(transaction=True)
def test_previous_outputs_come_from_the_base_policy_and_meet_the_new_one(
    ranked_project, queued, annotator
):
    project = ranked_project()
    request = services.LaunchRequest(
        algorithm="dpo",
        **{
            **MIXED,
            "generation_settings": {"k": 3, "max_new_tokens": 6, "previous_outputs": 1},
        },
    )
    round_ = services.round_launch(project=project, request=request)
    assert drain(queued) == ["succeeded"] * 4
    round_.refresh_from_db()
    # Two fresh prompts: one held out for evaluation, three outputs for the other:
    # two by the round's new policy, one by the policy it trained from.
    origins = CandidateOrigin.objects.filter(round=round_)
    by_version = sorted(origins.values_list("model_version_id", flat=True))
    assert sorted(by_version) == sorted(
        [round_.policy_id, round_.policy_id, round_.base_policy_id]
    )
    [prompt] = Prompt.objects.filter(candidates__origin__round=round_).distinct()
    assert prompt.candidates.count() == 3

    rank_open_tasks(project, annotator)
    board = leaderboard_compute(project=project, samples=50)
    rows = {row.model_version: row for row in board.rows}
    assert set(rows) == {round_.policy_id, round_.base_policy_id}
    # One ranking of three outputs: each new output meets the base's once.
    assert rows[round_.policy_id].comparisons == 2
    assert rows[round_.base_policy_id].comparisons == 2
    assert (board.prompts, board.comparisons) == (1, 2)


@pytest.mark.parametrize(
    ("generation", "reason"),
    [
        (
            {"k": 3, "previous_outputs": 3},
            "3 of K=3: from 0 up to K-1, so that the new policy writes at least one "
            "output of each prompt.",
        ),
        ({"k": 3, "previous_outputs": "one"}, "'one' is not an int"),
    ],
)
def test_previous_outputs_are_refused_outside_0_to_k_minus_1(
    ranked_project, queued, generation, reason
):
    project = ranked_project()
    request = services.LaunchRequest(
        algorithm="dpo", **{**MIXED, "generation_settings": generation}
    )
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=project, request=request)
    assert refused.value.reasons["generation_settings.previous_outputs"] == reason
    assert not project.rounds.exists()


def test_an_unknown_generation_setting_lists_every_known_one(ranked_project, queued):
    request = services.LaunchRequest(
        algorithm="dpo", **{**MIXED, "generation_settings": {"previous": 1}}
    )
    with pytest.raises(services.LaunchRefused) as refused:
        services.round_launch(project=ranked_project(), request=request)
    assert refused.value.reasons["generation_settings.previous"] == (
        "unknown setting; expected one of k, max_new_tokens, previous_outputs, "
        "temperature, top_p"
    )


@pytest.mark.parametrize(("asked", "recorded"), [({}, 1), ({"previous_outputs": 0}, 0)])
def test_the_projects_setting_is_the_default_a_round_records(
    ranked_project, queued, asked, recorded
):
    project = ranked_project()
    project.previous_outputs = 1
    project.save()
    request = services.LaunchRequest(
        algorithm="dpo",
        **{**MIXED, "generation_settings": {"k": 3, "max_new_tokens": 6, **asked}},
    )
    round_ = services.round_launch(project=project, request=request)
    assert round_.generation_settings.get("previous_outputs", 0) == recorded
    # The launch form offers the project's value as the field's default.
    groups = settings_groups(project)
    generation = next(g for g in groups if g.key == "generation_settings")
    field = next(h for h in generation.hyperparameters if h.name == "previous_outputs")
    assert field.default == 1
