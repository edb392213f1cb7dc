"""The export page's quality options: minimum trust, weighting, aggregation."""

import json
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation
from annotate.services import (
    Submission,
    annotation_review,
    annotation_submit,
    assignment_next,
)
from annotate.tests.test_export_form import FORM

pytestmark = pytest.mark.django_db

# Two annotators rank both prompts alike: τ = 1 with each other on each, so each
# has trust 2 / (2 + 5 prior prompts) = 2/7 (annotate/quality/report.py).
TRUST = 2 / 7


@pytest.fixture
def project(make_project, annotator, other_annotator):
    project = make_project(
        k=3,
        n_prompts=2,
        slug="trusted",
        members=[annotator, other_annotator],
        annotations_per_prompt=2,
    )
    for user in (annotator, other_annotator):
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
    return project


@pytest.fixture
def lead_client(client, lead):
    client.force_login(lead)
    return client


def rows(response) -> list[dict]:
    assert response.status_code == 200, response.context["form"].errors
    lines = b"".join(response.streaming_content).decode().splitlines()
    return [json.loads(line) for line in lines]


def export(client, project, **changes):
    url = reverse("annotate:project_export", args=[project.slug])
    return client.post(url, {**FORM, **changes})


def test_the_page_offers_the_quality_options(project, lead_client):
    url = reverse("annotate:project_export", args=[project.slug])
    html = lead_client.get(url).content.decode()
    assert 'name="min_trust"' in html
    assert "Trust: each ranking weighs its annotator&#x27;s trust" in html
    assert '<option value="bradley-terry">Bradley–Terry: one ranking per prompt' in html
    assert "TRL&#x27;s trainers drop a weight column" in html


def test_weighting_and_aggregation_shape_the_rankings(project, lead_client):
    weighted = rows(export(lead_client, project, format="rankings", weighting="trust"))
    assert [row["weight"] for row in weighted] == pytest.approx([TRUST] * 4)
    folded = rows(export(lead_client, project, format="rankings", aggregate="majority"))
    assert [row["annotations_folded"] for row in folded] == [2, 2]
    assert [row["ranks"] for row in folded] == [[1, 2, 3], [1, 2, 3]]
    assert all("weight" not in row for row in folded)


def test_minimum_trust_and_rejected_work(project, lead_client, lead):
    assert len(rows(export(lead_client, project, format="rankings"))) == 4
    kept = export(lead_client, project, format="rankings", min_trust="0.28")
    assert len(rows(kept)) == 4
    # A minimum above 2/7 leaves both annotators' rankings out.
    assert rows(export(lead_client, project, format="rankings", min_trust="0.3")) == []
    annotation_review(
        annotation=Annotation.objects.first(),
        reviewer=lead,
        verdict="rejected",
        comment="Off topic.",
    )
    assert len(rows(export(lead_client, project, format="rankings"))) == 3
    included = export(lead_client, project, format="rankings", include_rejected="on")
    assert len(rows(included)) == 4


def test_bad_quality_options_stand_next_to_their_field(project, lead_client):
    too_high = export(lead_client, project, min_trust="1.5")
    assert too_high.status_code == 400
    assert too_high.context["form"].errors["min_trust"] == [
        "Ensure this value is less than or equal to 1.0."
    ]
    ratings = export(lead_client, project, format="ratings", weighting="trust")
    assert ratings.status_code == 400
    assert ratings.context["form"].non_field_errors() == [
        "weighting: applies to the pairs and rankings formats, not 'ratings'; "
        "expected none"
    ]
