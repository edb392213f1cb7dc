"""The human leaderboard: Bradley–Terry over people's rankings of model versions."""

import json
import math
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    assignment_skip,
    candidate_create,
    prompt_create,
)
from training.leaderboard import leaderboard_compute
from training.models import CandidateOrigin, ModelVersion, Round


@pytest.fixture
def board(make_project, annotator):
    """Base against its round-1 policy: 3 wins, 1 loss and 1 tie for the policy."""
    project = make_project(k=2, n_prompts=0, slug="board", members=[annotator])
    base = ModelVersion.objects.create(
        project=project, kind="policy", name="base: tiny", path="tiny"
    )
    round_one = Round.objects.create(
        project=project, number=1, algorithm="dpo", base_policy=base
    )
    tuned = ModelVersion.objects.create(
        project=project,
        kind="policy",
        name="round 1 DPO policy",
        path="r1",
        round=round_one,
        parent=base,
    )
    outcomes = ["tuned", "tuned", "tuned", "base", "tie"]
    for number, outcome in enumerate(outcomes):
        prompt, _ = prompt_create(project=project, text=f"{outcome} prompt {number}")
        for label, version in (("base", base), ("tuned", tuned)):
            candidate, _ = candidate_create(
                prompt=prompt, text=f"{label} answer {number}", source="round-1"
            )
            CandidateOrigin.objects.create(
                candidate=candidate, round=round_one, model_version=version
            )
    rank_all(project, annotator, outcome_of=lambda text: text.split()[0])
    return project


def rank_all(project, annotator, *, outcome_of):
    """Judge each task: outputs whose text has the outcome word first; "tie" ties
    them all and "skip" skips the task."""
    while assignment := assignment_next(project=project, annotator=annotator):
        outcome = outcome_of(assignment.prompt.text)
        if outcome == "skip":
            assignment_skip(
                assignment_id=assignment.pk,
                annotator=annotator,
                client_id=uuid.uuid4(),
                reason="Cannot judge this one",
            )
            continue
        texts = dict(assignment.prompt.candidates.values_list("id", "text"))
        winners = [c for c, text in texts.items() if outcome in text]
        losers = [c for c in texts if c not in winners]
        buckets = [list(texts)] if outcome == "tie" else [winners, losers]
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[bucket for bucket in buckets if bucket],
                likert=dict.fromkeys(texts, 4),
                confirm_conflicts=True,
            ),
        )


def test_leaderboard_matches_a_hand_computed_bradley_terry(board):
    result = leaderboard_compute(project=board, samples=200)
    tuned, base = result.rows
    assert (tuned.model, base.model) == ("round 1 DPO policy", "base: tiny")
    # Wins with ties as halves: 3.5 to 1.5; the prior's virtual tied game adds
    # half a win each: 4 to 2, so p_tuned / p_base = 2 and scores are ± ln(2) / 2.
    assert tuned.score == pytest.approx(math.log(2) / 2, abs=1e-6)
    assert base.score == pytest.approx(-math.log(2) / 2, abs=1e-6)
    assert (tuned.wins, base.wins) == (3.5, 1.5)
    assert (tuned.comparisons, tuned.prompts, result.prompts) == (5, 5, 5)
    assert result.win_rates == [[None, 0.7], [0.3, None]]
    assert result.counts == [[0, 5], [5, 0]]
    assert tuned.low <= tuned.score <= tuned.high
    assert base.low <= base.score <= base.high
    assert (tuned.model_version, tuned.source) == (
        ModelVersion.objects.get(name="round 1 DPO policy").pk,
        None,
    )


def test_the_compare_view_shows_the_leaderboard_with_both_versions_marked(
    board, lead, client
):
    # A staff lead of the project (the admin wants staff; the project wants a lead).
    lead.is_staff = True
    lead.save()
    client.force_login(lead)
    base, tuned = ModelVersion.objects.filter(project=board).order_by("pk")
    page = client.get(
        reverse("admin:training_modelversion_compare"),
        {"left": base.pk, "right": tuned.pk},
    )
    assert page.status_code == 200
    html = page.content.decode()
    table = html[html.index('id="leaderboard"') : html.index('id="win-rates"')]
    assert table.count('<tr class="marked">') == 2
    # The tuned policy first with 3.5 wins of 5 games, as the fit above.
    assert table.index("round 1 DPO policy") < table.index("base: tiny")
    assert "0.35" in table and "3.5" in table
    assert "5 head-to-head pairs from 5 prompts" in html


def test_outputs_without_origin_compete_under_their_source(make_project, annotator):
    project = make_project(k=2, n_prompts=0, slug="sources", members=[annotator])
    for number in range(3):
        prompt, _ = prompt_create(project=project, text=f"gpt prompt {number}")
        candidate_create(prompt=prompt, text=f"gpt answer {number}", source="gpt-x")
        candidate_create(prompt=prompt, text=f"seed answer {number}", source="seed")
    # One prompt whose outputs share a source: no head-to-head pair in it.
    same, _ = prompt_create(project=project, text="seed prompt only")
    candidate_create(prompt=same, text="seed one", source="seed")
    candidate_create(prompt=same, text="seed two", source="seed")
    rank_all(project, annotator, outcome_of=lambda text: text.split()[0])
    result = leaderboard_compute(project=project, samples=50)
    assert [(row.model, row.source, row.model_version) for row in result.rows] == [
        ("gpt-x", "gpt-x", None),
        ("seed", "seed", None),
    ]
    assert (result.prompts, result.comparisons) == (3, 3)


def test_skipped_tasks_and_single_model_projects_give_no_board(make_project, annotator):
    project = make_project(k=2, n_prompts=0, slug="lonely", members=[annotator])
    prompt, _ = prompt_create(project=project, text="one model only")
    candidate_create(prompt=prompt, text="a", source="m")
    candidate_create(prompt=prompt, text="b", source="m")
    other, _ = prompt_create(project=project, text="two models")
    candidate_create(prompt=other, text="c", source="m")
    candidate_create(prompt=other, text="d", source="n")
    rank_all(
        project,
        annotator,
        outcome_of=lambda text: "skip" if text == "two models" else "tie",
    )
    assert leaderboard_compute(project=project).rows == []


def test_leaderboard_command_prints_json_and_a_table(board):
    out = StringIO()
    call_command(
        "leaderboard", "--project", "board", "--json", "--samples", "100", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["project"] == {"slug": "board", "name": "Project board"}
    assert [row["model"] for row in data["rows"]] == [
        "round 1 DPO policy",
        "base: tiny",
    ]
    assert (data["samples"], data["level"], data["comparisons"]) == (100, 0.95, 5)
    table = StringIO()
    call_command("leaderboard", "--project", "board", "--samples", "100", stdout=table)
    assert " 1 round 1 DPO policy" in table.getvalue()
    assert "0.70 (5)" in table.getvalue()
