"""The lead's project page: each annotator's median seconds per submitted task."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from annotate.models import Membership
from annotate.selectors import project_counts
from annotate.services import (
    Submission,
    annotation_submit,
    assignment_next,
    membership_set,
)


def submit_timed(project, annotator, seconds: float | None) -> None:
    """The annotator takes their next task and submits it after `seconds`."""
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment is not None
    order = list(assignment.display_order)
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[cid] for cid in order],
            likert={cid: 7 - i for i, cid in enumerate(order)},
            time_spent_ms=None if seconds is None else int(seconds * 1000),
        ),
    )


@pytest.mark.django_db
def test_median_seconds_per_task_per_annotator(
    make_project, annotator, other_annotator
) -> None:
    project = make_project(
        k=3, n_prompts=5, members=[annotator, other_annotator], annotations_per_prompt=3
    )
    for seconds in (40, 10, 95, 20, 30):  # odd count: the middle one, 30
        submit_timed(project, annotator, seconds)
    for seconds in (12, 50, 18, 500):  # even count: the mean of 18 and 50
        submit_timed(project, other_annotator, seconds)
    # An open task has no time yet and counts for nothing.
    ida = User.objects.create_user("ida", password="pw-ida-123")
    membership_set(project=project, user=ida, role=Membership.Role.ANNOTATOR)
    assignment_next(project=project, annotator=ida)

    rows = {
        row["annotator__username"]: row
        for row in project_counts(project=project).per_annotator
    }
    assert rows["ada_annotator"]["median_seconds"] == 30
    assert rows["otto_annotator"]["median_seconds"] == 34
    assert rows["ida"]["median_seconds"] is None
    assert rows["ada_annotator"]["submitted"] == 5


@pytest.mark.django_db
def test_untimed_tasks_are_left_out_of_the_median(make_project, annotator) -> None:
    project = make_project(k=3, n_prompts=3, members=[annotator])
    for seconds in (None, 8, 4):  # an API submit may send no time
        submit_timed(project, annotator, seconds)
    (row,) = project_counts(project=project).per_annotator
    assert row["submitted"] == 3
    assert row["median_seconds"] == 6


@pytest.mark.django_db
def test_project_page_shows_the_median_in_seconds(
    client, make_project, annotator, lead
) -> None:
    project = make_project(k=3, n_prompts=2, members=[annotator])
    submit_timed(project, annotator, 61.4)
    submit_timed(project, annotator, 20)
    client.force_login(lead)
    html = client.get(reverse("annotate:project", args=[project.slug])).content
    assert b'<td class="num median-time">41</td>' in html
