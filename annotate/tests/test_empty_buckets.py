"""Empty rank buckets hold no rank: at submit (web, API, services) and when stored."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.urls import reverse

from annotate.models import Annotation, Judgement
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    ranking_expand,
)
from api.tests.test_api import api_as, next_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=3, members=[annotator])


def stored(annotation: Annotation) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Ranks in display order, and (chosen, rejected, rank_gap) per comparison."""
    ranks = dict(annotation.judgements.values_list("candidate_id", "rank"))
    order = annotation.assignment.display_order
    comparisons = annotation.comparisons.order_by("chosen_id", "rejected_id")
    return [ranks[cid] for cid in order], list(
        comparisons.values_list("chosen_id", "rejected_id", "rank_gap")
    )


def test_service_compacts_empty_buckets_before_storing(project, annotator):
    assignment = assignment_next(project=project, annotator=annotator)
    a, b, c = assignment.display_order
    annotation, created = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[], [a], [b, c]],
            likert={a: 6, b: 3, c: 3},
        ),
    )
    assert created
    ranks, comparisons = stored(annotation)
    assert ranks == [1, 2, 2]
    assert sorted(gap for *_, gap in comparisons) == [1, 1]  # were 1 rank too wide


def test_api_submit_with_a_leading_empty_bucket_ranks_from_one(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    a, b, c = (output["candidate"] for output in task["outputs"])
    body = {
        "assignment": task["id"],
        "client_id": str(uuid.uuid4()),
        "ranking": [[], [a], [b, c]],
        "likert": {str(a): 7, str(b): 4, str(c): 4},
    }
    response = client.post("/api/v1/annotations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert [j["rank"] for j in response.json()["judgements"]] == [1, 2, 2]
    gaps = client.get(f"/api/v1/comparisons/?annotation={response.json()['id']}")
    assert [row["rank_gap"] for row in gaps.json()["results"]] == [1, 1]


def test_more_buckets_than_the_screen_shows_are_still_refused(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    a, b, c = (output["candidate"] for output in task["outputs"])
    body = {
        "assignment": task["id"],
        "client_id": str(uuid.uuid4()),
        "ranking": [[a], [], [], [b], [c]],
        "likert": {str(a): 7, str(b): 4, str(c): 1},
    }
    response = client.post("/api/v1/annotations/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "ranking": "Expected at most 3 rank buckets, got 5."
    }
    assert not Annotation.objects.exists()


def test_web_submit_skips_the_bucket_the_annotator_left_empty(
    client, project, annotator
):
    client.force_login(annotator)
    assignment = assignment_next(project=project, annotator=annotator)
    a, b, c = assignment.display_order
    response = client.post(
        reverse("annotate:submit", args=[project.slug, assignment.pk]),
        data={
            "client_id": str(uuid.uuid4()),
            "ranking": [[a, b], [], [c]],  # Rank 2 left empty in the UI
            "likert": {str(a): 6, str(b): 6, str(c): 2},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    ranks, _ = stored(Annotation.objects.get())
    assert ranks == [1, 1, 2]


def test_migration_compacts_stored_gaps_and_their_comparisons(project, annotator):
    # Two rankings as the old submit path stored them: ranks 2, 4, 4 and 1, 3, 3...
    gapped = {}
    for ranks in ((2, 4, 4), (1, 3, 3)):
        assignment = assignment_next(project=project, annotator=annotator)
        order = assignment.display_order
        annotation, _ = annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[[cid] for cid in order],
                likert=dict.fromkeys(order, 4),
            ),
        )
        for cid, rank in zip(order, ranks, strict=True):
            Judgement.objects.filter(annotation=annotation, candidate_id=cid).update(
                rank=rank
            )
        ranking_expand(annotation=annotation)
        gapped[annotation.pk] = annotation
    # ...and one stored without gaps, which the migration leaves alone.
    untouched = assignment_next(project=project, annotator=annotator)
    clean, _ = annotation_submit(
        assignment_id=untouched.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[cid] for cid in untouched.display_order],
            likert=dict.fromkeys(untouched.display_order, 4),
        ),
    )
    first, second = gapped.values()
    assert stored(first)[0] == [2, 4, 4]
    assert sorted(gap for *_, gap in stored(first)[1]) == [2, 2]
    before_clean = stored(clean)

    migration = importlib.import_module("annotate.migrations.0005_compact_rank_gaps")
    migration.compact_rank_gaps(apps, None)

    assert stored(first)[0] == [1, 2, 2]
    assert sorted(gap for *_, gap in stored(first)[1]) == [1, 1]
    assert stored(second)[0] == [1, 2, 2]
    assert stored(clean) == before_clean
