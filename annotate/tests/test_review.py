"""A lead's review: approve or reject with a comment; rejected work leaves the data."""

import json
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from annotate.exporting import ExportOptions, export_to_path
from annotate.exporting.services import REJECTED_REASON
from annotate.models import Annotation
from annotate.services import (
    ReviewError,
    Submission,
    annotation_review,
    annotation_submit,
    assignment_next,
)
from training import services as training
from training.tests.fixtures_rounds import QUICK


def _rank_all(project, user):
    """The user ranks every task they are given, outputs in id order."""
    annotations = []
    while (assignment := assignment_next(project=project, annotator=user)) is not None:
        ids = sorted(assignment.display_order)
        annotation, _ = annotation_submit(
            assignment_id=assignment.pk,
            annotator=user,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[[cid] for cid in ids],
                likert={cid: 7 - i for i, cid in enumerate(ids)},
            ),
        )
        annotations.append(annotation)
    return annotations


@pytest.fixture
def ranked(make_project, annotator, other_annotator):
    project = make_project(
        k=3, n_prompts=3, members=[annotator, other_annotator], annotations_per_prompt=2
    )
    return project, _rank_all(project, annotator), _rank_all(project, other_annotator)


def test_a_rejection_needs_a_lead_and_a_comment(ranked, lead, annotator):
    _, [first, *_], _ = ranked
    with pytest.raises(PermissionDenied, match="Only a lead of project tests"):
        annotation_review(
            annotation=first, reviewer=annotator, verdict="approved", comment=""
        )
    with pytest.raises(ReviewError, match="comment: say why the work is rejected"):
        annotation_review(annotation=first, reviewer=lead, verdict="rejected")
    with pytest.raises(ReviewError, match="verdict: expected approved or rejected"):
        annotation_review(annotation=first, reviewer=lead, verdict="maybe")
    annotation_review(
        annotation=first,
        reviewer=lead,
        verdict="rejected",
        comment="  Ranked without reading: B is off topic.  ",
    )
    first.refresh_from_db()
    assert (first.review, first.review_comment, first.reviewed_by) == (
        Annotation.Review.REJECTED,
        "Ranked without reading: B is off topic.",
        lead,
    )
    # A second look may overturn it.
    annotation_review(annotation=first, reviewer=lead, verdict="approved")
    first.refresh_from_db()
    assert (first.review, first.review_comment) == ("approved", "")


def test_a_rejected_annotation_leaves_the_next_export_and_the_card_counts_it(
    ranked, lead, tmp_path
):
    _, mine, theirs = ranked
    rejected = mine[0]
    annotation_review(
        annotation=rejected, reviewer=lead, verdict="rejected", comment="Random order."
    )
    report = export_to_path(
        project=rejected.assignment.prompt.project,
        options=ExportOptions(format="rankings"),
        out=tmp_path / "rankings.jsonl",
    )
    rows = [json.loads(line) for line in report.path.read_text().splitlines()]
    exported = {row["annotation_id"] for row in rows}
    assert exported == {a.pk for a in [*mine, *theirs]} - {rejected.pk}
    assert report.stats.left_out == {REJECTED_REASON: 1}
    card = report.card_path.read_text()
    assert f"| {REJECTED_REASON} | 1 |" in card
    assert "| exclude_rejected | True |" in card
    # Asked for, rejected work comes back (and nothing is counted as left out).
    everything = export_to_path(
        project=rejected.assignment.prompt.project,
        options=ExportOptions(format="rankings", exclude_rejected=False),
        out=tmp_path / "all.jsonl",
    )
    assert everything.stats.rows["all"] == 6 and not everything.stats.left_out


def test_the_snapshot_of_a_round_launched_after_a_rejection_leaves_it_out(
    ranked_project, queued, lead, django_capture_on_commit_callbacks
):
    project = ranked_project(n_ranked=6)
    annotations = list(Annotation.objects.filter(assignment__prompt__project=project))
    rejected = annotations[2]
    annotation_review(
        annotation=rejected, reviewer=lead, verdict="rejected", comment="Copy-paste."
    )
    with django_capture_on_commit_callbacks(execute=True):
        round_ = training.round_launch(
            project=project, request=training.LaunchRequest(**QUICK), launched_by=lead
        )
    snapshot = round_.snapshot
    assert snapshot.annotation_ids == [a.pk for a in annotations if a != rejected]
    assert (snapshot.ranking_count, snapshot.comparison_count) == (5, 5 * 3)


def _rank_reversed(project, user):
    annotations = []
    while (assignment := assignment_next(project=project, annotator=user)) is not None:
        ids = sorted(assignment.display_order, reverse=True)
        annotation, _ = annotation_submit(
            assignment_id=assignment.pk,
            annotator=user,
            submission=Submission(
                client_id=uuid.uuid4(),
                buckets=[[cid] for cid in ids],
                likert={cid: 7 - i for i, cid in enumerate(ids)},
                flags={ids[-1]: ["violent"]},
            ),
        )
        annotations.append(annotation)
    return annotations


@pytest.fixture
def review_queue(client, make_project, lead, annotator, django_user_model):
    """Two annotators rank by output id, a third the other way round and flags."""
    users = [annotator, *(django_user_model.objects.create_user(n) for n in "bc")]
    project = make_project(k=3, n_prompts=3, members=users, annotations_per_prompt=3)
    _rank_all(project, users[0])
    _rank_all(project, users[1])
    reverser = _rank_reversed(project, users[2])
    lead.is_staff = True
    lead.save()
    client.force_login(lead)
    return client, reverser


def _listed(client, query):
    page = client.get(reverse("admin:annotate_annotation_changelist") + query)
    assert page.status_code == 200
    return {row.pk for row in page.context["cl"].result_list}


def test_the_review_queue_filters_by_disagreement_trust_and_flags(review_queue):
    client, reverser = review_queue
    reversed_ids = {a.pk for a in reverser}
    # The reverser's τ with the other two's consensus is −1 on every prompt; the
    # other two see a tied consensus (one agrees, one reverses), so no τ.
    assert _listed(client, "?disagrees=yes") == reversed_ids
    assert _listed(client, "?disagrees=no") == set()
    assert _listed(client, "?trust=low") == reversed_ids
    assert len(_listed(client, "?trust=none")) == 6
    assert _listed(client, "?flagged=yes") == reversed_ids


def test_a_lead_rejects_from_the_queue_with_a_comment(review_queue):
    client, reverser = review_queue
    url = reverse("admin:annotate_annotation_changelist")
    chosen = [str(reverser[0].pk), str(reverser[1].pk)]
    form = client.post(url, {"action": "reject", "_selected_action": chosen})
    assert form.status_code == 200 and b"Reject 2 annotations" in form.content
    done = client.post(
        url,
        {
            "action": "reject",
            "_selected_action": chosen,
            "apply": "1",
            "comment": "Every ranking is reversed.",
        },
    )
    assert done.status_code == 302
    rows = Annotation.objects.filter(pk__in=chosen)
    assert {(a.review, a.review_comment) for a in rows} == {
        ("rejected", "Every ranking is reversed.")
    }
    assert _listed(client, "?review__exact=rejected") == {int(pk) for pk in chosen}
    # And one ranking becomes its prompt's gold reference.
    client.post(url, {"action": "mark_gold", "_selected_action": [reverser[2].pk]})
    prompt = reverser[2].assignment.prompt
    assert prompt.gold.from_annotation == reverser[2]


def test_an_annotator_sees_their_figures_and_the_comments_on_rejected_work(
    ranked, client, lead, annotator, other_annotator
):
    project, mine, _ = ranked
    annotation_review(
        annotation=mine[0], reviewer=lead, verdict="rejected", comment="B is a refusal."
    )
    annotation_review(annotation=mine[1], reviewer=lead, verdict="approved")
    client.force_login(annotator)
    home = client.get(reverse("annotate:home"))
    url = reverse("annotate:my_work", args=[project.slug])
    assert url.encode() in home.content
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "1 approved · 1 rejected" in text and "B is a refusal." in text
    # Both ranked every prompt by output id: τ = 1 with the consensus on 3 prompts,
    # so trust = 3 / (3 + 5).
    assert "0.38" in text and "from 3 tasks with a yardstick" in text
    # The other annotator has no rejections and never sees this one's comment.
    client.force_login(other_annotator)
    assert "B is a refusal." not in client.get(url).content.decode()
