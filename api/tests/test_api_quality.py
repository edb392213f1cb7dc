"""The quality options of exports and round launches through the REST API."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotate.models import Annotation, Project
from annotate.quality.selection import BELOW_MIN_TRUST
from annotate.services import (
    Submission,
    annotation_review,
    annotation_submit,
    assignment_next,
)
from training.models import Round

pytestmark = pytest.mark.django_db

PROMPTS = 4
# Two annotators who agree on all four shared prompts: τ = 1 with each other on
# each, so trust = 4 / (4 + 5 prior prompts) = 4/9 (annotate/quality/report.py).
TRUST = 4 / 9


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def agreed_project(make_project, annotator, django_user_model) -> Project:
    second = django_user_model.objects.create_user("second_annotator")
    project = make_project(
        k=3, n_prompts=PROMPTS, members=[annotator, second], annotations_per_prompt=2
    )
    for user in (annotator, second):
        while (task := assignment_next(project=project, annotator=user)) is not None:
            best_first = sorted(task.display_order)
            annotation_submit(
                assignment_id=task.pk,
                annotator=user,
                submission=Submission(
                    client_id=uuid.uuid4(),
                    buckets=[[cid] for cid in best_first],
                    likert={cid: 7 - i for i, cid in enumerate(best_first)},
                ),
            )
    project.prompts.create(text="A fresh prompt with no outputs yet.")
    return project


def _export(client: APIClient, body: dict) -> list[dict]:
    response = client.post("/api/v1/exports/", body, format="json")
    assert response.status_code == 200, response.content
    content = b"".join(response.streaming_content)
    return [json.loads(line) for line in content.split(b"\n") if line]


def test_export_weighs_folds_and_filters_by_trust(agreed_project, lead):
    client = api_as(lead)
    body = {"project": agreed_project.pk, "format": "rankings"}
    weighted = _export(client, {**body, "weighting": "trust"})
    assert len(weighted) == 2 * PROMPTS
    assert [row["weight"] for row in weighted] == pytest.approx([TRUST] * 8)
    folded = _export(client, {**body, "weighting": "trust", "aggregate": "majority"})
    assert [row["annotations_folded"] for row in folded] == [2] * PROMPTS
    assert [row["ranks"] for row in folded] == [[1, 2, 3]] * PROMPTS
    assert [row["weight"] for row in folded] == pytest.approx([TRUST] * PROMPTS)
    assert _export(client, {**body, "min_trust": 0.5}) == []
    assert len(_export(client, {**body, "min_trust": 0.4})) == 2 * PROMPTS
    pairs = _export(client, {**body, "format": "pairs", "weighting": "trust"})
    # K=3: three pairs per ranking, each 1/3 of the ranking's weight.
    assert [row["weight"] for row in pairs] == pytest.approx([TRUST / 3] * 24)


def test_export_leaves_rejected_work_out_unless_asked(agreed_project, lead):
    annotation = Annotation.objects.filter(
        assignment__prompt__project=agreed_project
    ).first()
    annotation_review(
        annotation=annotation, reviewer=lead, verdict="rejected", comment="Sloppy."
    )
    client = api_as(lead)
    body = {"project": agreed_project.pk, "format": "rankings"}
    assert len(_export(client, body)) == 2 * PROMPTS - 1
    assert len(_export(client, {**body, "include_rejected": True})) == 2 * PROMPTS


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        (
            {"min_trust": 1.5},
            {"min_trust": "Ensure this value is less than or equal to 1."},
        ),
        ({"weighting": "votes"}, {"weighting": '"votes" is not a valid choice.'}),
        ({"aggregate": "mean"}, {"aggregate": '"mean" is not a valid choice.'}),
        (
            {"format": "ratings", "weighting": "trust"},
            {
                "weighting": "applies to the pairs and rankings formats, not "
                "'ratings'; expected none"
            },
        ),
    ],
)
def test_export_refuses_bad_quality_options_by_field(
    agreed_project, lead, options, errors
):
    body = {"project": agreed_project.pk, "format": "pairs", **options}
    refused = api_as(lead).post("/api/v1/exports/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == errors


@pytest.mark.parametrize(
    ("data_settings", "errors"),
    [
        (
            {"min_trust": 2},
            {"data_settings.min_trust": "2.0 is not a number from 0 to 1 (or empty)"},
        ),
        (
            {"weighting": "heavy"},
            {"data_settings.weighting": "'heavy' is not one of none, trust"},
        ),
        (
            {"minimum_trust": 0.2},
            {
                "data_settings.minimum_trust": "unknown setting; expected one of "
                "aggregate, min_trust, weighting"
            },
        ),
        (  # 0.5 asks more than 4/9: both annotators' work is left out
            {"min_trust": 0.5},
            {
                "data": "Not enough data: 0 rankings and 0 comparisons; a round "
                "needs at least 4 rankings and 10 comparisons. The data settings "
                f"left out annotations: 8 {BELOW_MIN_TRUST}."
            },
        ),
    ],
)
def test_round_launch_refuses_bad_data_settings_by_field(
    agreed_project, lead, data_settings, errors
):
    body = {"project": agreed_project.pk, "data_settings": data_settings}
    refused = api_as(lead).post("/api/v1/rounds/", body, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == errors
    assert not Round.objects.exists()


def test_a_round_launched_with_data_settings_records_them(agreed_project, lead):
    data_settings = {"min_trust": 0.4, "weighting": "trust", "aggregate": "majority"}
    body = {"project": agreed_project.pk, "data_settings": data_settings}
    launched = api_as(lead).post("/api/v1/rounds/", body, format="json")
    assert launched.status_code == 201, launched.json()
    snapshot = Round.objects.get().snapshot
    # Eight annotations folded into one consensus per prompt: 4 rankings x 3 pairs.
    assert (snapshot.ranking_count, snapshot.comparison_count) == (PROMPTS, 12)
    assert len(snapshot.annotation_ids) == 2 * PROMPTS
    data = snapshot.details["data"]
    assert data["settings"] == data_settings
    assert data["left_out"] == {} and data["annotations"] == 2 * PROMPTS
    assert data["weights"] == {
        "min": pytest.approx(TRUST),
        "mean": pytest.approx(TRUST),
        "max": pytest.approx(TRUST),
    }
    # The round's API answer says what its data was selected with.
    shown = api_as(lead).get(f"/api/v1/rounds/{launched.json()['id']}/").json()
    assert shown["data_settings"] == data_settings
