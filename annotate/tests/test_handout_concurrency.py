"""Hand-outs lock the prompt they give, not the project; submits lock the assignment.

Run on SQLite and again on PostgreSQL, where concurrent hand-outs really run side by
side: each takes a prompt nobody else holds, and the overlap is counted again under
the prompt's lock, so no prompt is ever given beyond it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from annotate.models import Assignment, Prompt
from annotate.services import (
    Submission,
    _claim_open_prompt,
    annotation_submit,
    assignment_next,
    ranking_expand,
)

pytestmark = pytest.mark.postgres
COMPARISON_FIELDS = (
    "chosen",
    "rejected",
    "is_tie",
    "weight",
    "rank_gap",
    "likert_gap",
)


def submission_with_a_tie(assignment: Assignment) -> Submission:
    """First two outputs tied at the top, then the others; ratings 7, 7, 4, 1."""
    a, b, c, d = assignment.display_order
    return Submission(
        client_id=uuid.uuid4(),
        buckets=[[a, b], [c], [d]],
        likert={a: 7, b: 7, c: 4, d: 1},
    )


def in_threads(
    target: Callable[..., object], args_list: list[tuple[object, ...]]
) -> list[object]:
    """Run target(*args) for each args at once (a barrier), each on its own
    connection; the results in order."""
    results: list[object] = [None] * len(args_list)
    start = threading.Barrier(len(args_list))

    def run(index: int, args: tuple[object, ...]) -> None:
        try:
            start.wait()
            results[index] = target(*args)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, args)) for i, args in enumerate(args_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db
def test_submitted_pairs_equal_a_rebuild_from_the_stored_judgements(
    make_project, annotator
):
    # The submit expands the ranking it was sent without reading it back; the rebuild
    # from the stored judgements (ranking_expand) must find the very same rows.
    project = make_project(k=4, n_prompts=1, members=[annotator], keep_ties=True)
    assignment = assignment_next(project=project, annotator=annotator)
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=submission_with_a_tie(assignment),
    )
    submitted = sorted(annotation.comparisons.values_list(*COMPARISON_FIELDS))
    a, b, c, d = assignment.display_order
    assert len(submitted) == 6
    assert [{row[0], row[1]} for row in submitted if row[2]] == [{a, b}]
    assert {(row[0], row[1], row[4], row[5]) for row in submitted if not row[2]} == {
        (a, c, 1, 3),
        (a, d, 2, 6),
        (b, c, 1, 3),
        (b, d, 2, 6),
        (c, d, 1, 3),
    }
    ranking_expand(annotation=annotation)
    assert sorted(annotation.comparisons.values_list(*COMPARISON_FIELDS)) == submitted


@pytest.mark.django_db
def test_a_submit_writes_in_a_fixed_number_of_queries(
    make_project, annotator, django_assert_num_queries
):
    project = make_project(k=4, n_prompts=1, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    # Savepoint, lock the assignment, client id, membership, annotation, judgements,
    # pairs, close the assignment, release: nothing read back, nothing per output.
    with django_assert_num_queries(9):
        annotation, _ = annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=submission_with_a_tie(assignment),
        )
    assert annotation.judgements.count() == 4
    assert annotation.comparisons.count() == 5  # the tied pair is not kept


@pytest.mark.django_db
def test_a_stale_queue_never_gives_a_prompt_beyond_its_overlap(
    make_project, annotator, other_annotator, django_user_model
):
    # The queue is read before any lock; a prompt filled since is refused under its
    # lock, and the next one is given.
    third = django_user_model.objects.create_user("thea_third", password="pw-3")
    project = make_project(
        k=4,
        n_prompts=2,
        members=[annotator, other_annotator, third],
        annotations_per_prompt=1,
    )
    full, open_prompt = Prompt.objects.filter(project=project).order_by("id")
    Assignment.objects.create(
        annotator=other_annotator,
        prompt=full,
        display_order=list(full.candidates.values_list("id", flat=True)),
    )
    with transaction.atomic():
        claimed = _claim_open_prompt(project, annotator, [full.pk, open_prompt.pk])
    assert claimed == open_prompt.pk
    with transaction.atomic():
        # Both filled now: nothing is claimed, and the look again finds no queue.
        Assignment.objects.create(
            annotator=third,
            prompt=open_prompt,
            display_order=list(open_prompt.candidates.values_list("id", flat=True)),
        )
        assert _claim_open_prompt(project, annotator, [full.pk, open_prompt.pk]) is None
    assert Counter(
        Assignment.objects.filter(prompt__project=project).values_list(
            "prompt_id", flat=True
        )
    ) == {full.pk: 1, open_prompt.pk: 1}


@pytest.mark.django_db(transaction=True)
def test_sixteen_hand_outs_at_once_fill_every_prompt_exactly_to_its_overlap(
    make_project, django_user_model
):
    annotators = [
        django_user_model.objects.create_user(f"annotator{i}", password=f"pw-{i}")
        for i in range(16)
    ]
    # 4 prompts × 3 judgements: 12 tasks for 16 annotators asking at the same time.
    project = make_project(
        k=4, n_prompts=4, members=annotators, annotations_per_prompt=3
    )

    given = in_threads(
        lambda user: assignment_next(project=project, annotator=user),
        [(user,) for user in annotators],
    )

    assert sum(task is not None for task in given) == 12
    per_prompt = Counter(
        Assignment.objects.filter(prompt__project=project).values_list(
            "prompt_id", flat=True
        )
    )
    assert sorted(per_prompt.values()) == [3, 3, 3, 3]
    assert len(set(Assignment.objects.values_list("annotator_id", flat=True))) == 12


@pytest.mark.django_db(transaction=True)
def test_a_hand_out_passes_a_prompt_another_holds_instead_of_waiting(
    make_project, annotator, other_annotator
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: nothing to pass")
    project = make_project(
        k=4, n_prompts=2, members=[annotator, other_annotator], slug="held"
    )
    first, second = Prompt.objects.filter(project=project).order_by("id")
    held, release = threading.Event(), threading.Event()

    def hold_the_first_prompt():
        try:
            with transaction.atomic():
                Prompt.objects.select_for_update().filter(pk=first.pk).get()
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_first_prompt)
    holder.start()
    try:
        assert held.wait(timeout=30)
        started = time.monotonic()
        task = assignment_next(project=project, annotator=annotator)
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert task.prompt_id == second.pk
    assert waited < 5
    # Released, the first prompt is the next one given.
    assert assignment_next(project=project, annotator=other_annotator).prompt_id == (
        first.pk
    )


@pytest.mark.django_db(transaction=True)
def test_with_every_prompt_held_a_hand_out_waits_and_then_takes_one(
    make_project, annotator
):
    project = make_project(k=4, n_prompts=2, members=[annotator], slug="all-held")
    prompts = list(Prompt.objects.filter(project=project).order_by("id"))
    held = threading.Event()

    def hold_every_prompt_briefly():
        try:
            with transaction.atomic():
                list(Prompt.objects.select_for_update().filter(project=project))
                held.set()
                time.sleep(0.5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_every_prompt_briefly)
    holder.start()
    try:
        assert held.wait(timeout=30)
        started = time.monotonic()
        task = assignment_next(project=project, annotator=annotator)
        waited = time.monotonic() - started
    finally:
        holder.join()
    assert task is not None and task.prompt_id == prompts[0].pk
    assert 0.2 < waited < 10
    assert Assignment.objects.filter(prompt__project=project).count() == 1
