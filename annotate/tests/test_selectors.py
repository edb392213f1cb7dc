"""Read-side figures a lead sees on the project page."""

from __future__ import annotations

import uuid

import pytest

from annotate.selectors import project_counts
from annotate.services import assignment_next, assignment_skip
from training.tests.fixtures_rounds import rank_open_tasks


@pytest.mark.django_db
def test_per_annotator_rows_count_tasks_not_their_comparisons(
    make_project, annotator, other_annotator
) -> None:
    project = make_project(k=4, n_prompts=5, members=[annotator, other_annotator])
    rank_open_tasks(project, annotator, limit=3)  # 3 rankings of K=4: 6 pairs each
    skipped = assignment_next(project=project, annotator=annotator)
    assert skipped is not None
    assignment_skip(
        assignment_id=skipped.pk,
        annotator=annotator,
        client_id=uuid.uuid4(),
        reason="unclear",
    )
    assignment_next(project=project, annotator=annotator)  # left open
    rank_open_tasks(project, other_annotator, limit=1)
    counts = project_counts(project=project)
    rows = {row["annotator__username"]: row for row in counts.per_annotator}
    assert rows["ada_annotator"] == {
        "annotator__username": "ada_annotator",
        "submitted": 3,
        "skipped": 1,
        "open": 1,
        "comparisons": 18,
        "median_seconds": None,  # rank_open_tasks sends no time
    }
    assert rows["otto_annotator"]["submitted"] == 1
    assert rows["otto_annotator"]["comparisons"] == 6
    assert counts.annotations == 4 and counts.comparisons == 24
