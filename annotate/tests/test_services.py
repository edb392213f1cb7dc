"""Submission, skip and queue services; run on SQLite and again on PostgreSQL."""

import uuid

import pytest

from annotate.models import Annotation, Assignment, Comparison, Judgement, Project
from annotate.services import (
    ConflictWarning,
    Submission,
    SubmissionError,
    annotation_submit,
    assignment_next,
    assignment_skip,
    candidate_create,
    prompt_create,
    ranking_expand,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
# NUL, lost bytes (U+FFFD), a bell, a lone surrogate and a Windows line end: what
# the embedded model writes and what PostgreSQL refuses, and how it is stored.
HOSTILE = "Hi\x00 there\ufffd,\x07 friend\ud800\r\n"
CLEANED = "Hi there, friend\n"


def full_submission(assignment, **overrides):
    """Best-to-worst in display order, ratings falling with rank, last one flagged."""
    order = assignment.display_order
    fields = {
        "client_id": uuid.uuid4(),
        "buckets": [[cid] for cid in order],
        "likert": {cid: 7 - i for i, cid in enumerate(order)},
        "flags": {order[-1]: ["harmful_advice"]},
        "notes": "  last one is dangerous  ",
        "time_spent_ms": 4200,
    }
    fields.update(overrides)
    return Submission(**fields)


@pytest.fixture
def project(make_project, annotator, other_annotator):
    return make_project(k=4, n_prompts=3, members=[annotator, other_annotator])


@pytest.fixture
def assignment(project, annotator):
    return assignment_next(project=project, annotator=annotator)


def test_database_is_the_one_asked_for(settings):
    import os

    from django.db import connection

    expected = os.environ.get("RANKWISE_EXPECT_DB_VENDOR")
    if expected:
        assert connection.vendor == expected


def test_submit_stores_judgements_and_expands_pairs(assignment, annotator):
    annotation, created = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=full_submission(assignment),
    )
    assert created
    assert annotation.notes == "last one is dangerous"
    assert Judgement.objects.filter(annotation=annotation).count() == 4
    last = Judgement.objects.get(
        annotation=annotation, candidate_id=assignment.display_order[-1]
    )
    assert (last.rank, last.likert, last.flags) == (4, 4, ["harmful_advice"])
    comparisons = Comparison.objects.filter(annotation=annotation)
    assert comparisons.count() == 6
    assert sum(c.weight for c in comparisons) == pytest.approx(1.0)
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SUBMITTED
    assert assignment.time_spent_ms == 4200


def test_double_submit_with_same_client_id_stores_one_annotation(assignment, annotator):
    submission = full_submission(assignment)
    first, created_first = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, submission=submission
    )
    again, created_again = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, submission=submission
    )
    assert (created_first, created_again) == (True, False)
    assert first.pk == again.pk
    assert Annotation.objects.count() == 1
    assert Comparison.objects.count() == 6


def test_second_submit_with_new_client_id_is_refused(assignment, annotator):
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=full_submission(assignment),
    )
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=full_submission(assignment),
        )
    assert "already submitted" in refused.value.errors["assignment"]


def assert_nothing_written(assignment):
    assert Annotation.objects.count() == 0
    assert Judgement.objects.count() == 0
    assert Comparison.objects.count() == 0
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.OPEN


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            lambda o: {"buckets": [[o[0]], [o[1]], [o[2]]]},
            "ranking",
            "D not ranked yet",
        ),
        (
            lambda o: {"buckets": [[o[0]], [o[1]], [o[2]], [o[3]], [o[0]]]},
            "ranking",
            "at most 4 rank buckets",
        ),
        (
            lambda o: {"buckets": [[o[0], o[0]], [o[1]], [o[2]], [o[3]]]},
            "ranking",
            "A ranked more",
        ),
        (
            lambda o: {"buckets": [[o[0]], [o[1]], [o[2]], [999999]]},
            "ranking",
            "[999999]",
        ),
        (
            lambda o: {"likert": {o[0]: 7, o[1]: 6, o[2]: 5}},
            "likert",
            "D not rated yet",
        ),
        (
            lambda o: {"likert": {o[0]: 8, o[1]: 6, o[2]: 5, o[3]: 4}},
            "likert",
            "check A",
        ),
        (lambda o: {"likert": {o[0]: 0, o[1]: 6, o[2]: 5, o[3]: 4}}, "likert", "1–7"),
        (
            lambda o: {"flags": {o[1]: ["not_a_flag"]}},
            "flags",
            "Output B: unknown flag",
        ),
    ],
)
def test_bad_submissions_are_refused_with_the_field_and_nothing_written(
    assignment, annotator, change, field, message
):
    submission = full_submission(assignment, **change(assignment.display_order))
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, submission=submission
        )
    assert message in refused.value.errors[field]
    assert_nothing_written(assignment)


def test_ties_refused_when_the_project_forbids_them(project, assignment, annotator):
    Project.objects.filter(pk=project.pk).update(allow_ties=False)
    order = assignment.display_order
    submission = full_submission(
        assignment, buckets=[[order[0], order[1]], [order[2]], [order[3]]]
    )
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, submission=submission
        )
    assert "does not allow ties" in refused.value.errors["ranking"]
    assert_nothing_written(assignment)


def test_ties_give_fewer_comparisons_and_tie_records_when_kept(
    project, assignment, annotator
):
    order = assignment.display_order
    tied = full_submission(
        assignment,
        buckets=[[order[0], order[1]], [order[2]], [order[3]]],
        likert={cid: 5 for cid in order},
    )
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, submission=tied
    )
    assert annotation.comparisons.count() == 5
    Project.objects.filter(pk=project.pk).update(keep_ties=True)
    ranking_expand(annotation=annotation)
    assert annotation.comparisons.count() == 6
    assert annotation.comparisons.filter(is_tie=True).count() == 1


def test_reexpanding_is_idempotent(assignment, annotator):
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=full_submission(assignment),
    )
    before = list(
        annotation.comparisons.values_list("chosen", "rejected", "weight", "rank_gap")
    )
    ranking_expand(annotation=annotation)
    ranking_expand(annotation=annotation)
    after = list(
        annotation.comparisons.values_list("chosen", "rejected", "weight", "rank_gap")
    )
    assert before == after


def test_conflicting_ratings_warn_until_confirmed(assignment, annotator):
    order = assignment.display_order
    likert = {order[0]: 2, order[1]: 6, order[2]: 5, order[3]: 4}
    with pytest.raises(ConflictWarning) as warned:
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=full_submission(assignment, likert=likert),
        )
    assert "A is ranked above B but rated lower (2 < 6)." in warned.value.warnings
    assert_nothing_written(assignment)
    annotation, created = annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=full_submission(assignment, likert=likert, confirm_conflicts=True),
    )
    assert created and annotation.comparisons.count() == 6


def test_only_the_assigned_annotator_may_submit(assignment, other_annotator):
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=other_annotator,
            submission=full_submission(assignment),
        )
    assert "of yours" in refused.value.errors["assignment"]
    assert_nothing_written(assignment)


def test_client_id_reused_on_another_assignment_is_refused(
    project, assignment, annotator
):
    submission = full_submission(assignment)
    annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, submission=submission
    )
    second = assignment_next(project=project, annotator=annotator)
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=second.pk,
            annotator=annotator,
            submission=full_submission(second, client_id=submission.client_id),
        )
    assert "different assignment" in refused.value.errors["client_id"]


def test_skip_needs_a_reason_and_frees_the_prompt(
    project, assignment, annotator, other_annotator
):
    with pytest.raises(SubmissionError) as refused:
        assignment_skip(
            assignment_id=assignment.pk,
            annotator=annotator,
            client_id=uuid.uuid4(),
            reason=" \x00\u200b",
        )
    assert "why" in refused.value.errors["reason"]
    annotation, created = assignment_skip(
        assignment_id=assignment.pk,
        annotator=annotator,
        client_id=uuid.uuid4(),
        reason="I can't judge \x00this topic\ud800 ",
    )
    assert created and annotation.skipped
    annotation.refresh_from_db()
    assert annotation.skip_reason == "I can't judge this topic"
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.SKIPPED
    assert annotation.comparisons.count() == 0


def test_queue_resumes_open_work_and_never_repeats_a_prompt(project, annotator):
    first = assignment_next(project=project, annotator=annotator)
    assert assignment_next(project=project, annotator=annotator).pk == first.pk
    seen = set()
    while (
        assignment := assignment_next(project=project, annotator=annotator)
    ) is not None:
        assert assignment.prompt_id not in seen
        seen.add(assignment.prompt_id)
        annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            submission=full_submission(assignment),
        )
    assert len(seen) == 3


def test_queue_respects_the_overlap(
    project, annotator, other_annotator, django_user_model
):
    third = django_user_model.objects.create_user("third")
    project.members.add(third)
    Project.objects.filter(pk=project.pk).update(annotations_per_prompt=2)
    project.refresh_from_db()
    for user in (annotator, other_annotator):
        while (a := assignment_next(project=project, annotator=user)) is not None:
            annotation_submit(
                assignment_id=a.pk, annotator=user, submission=full_submission(a)
            )
    assert assignment_next(project=project, annotator=third) is None


def test_display_order_is_a_stored_permutation_of_the_outputs(assignment):
    candidates = set(assignment.prompt.candidates.values_list("id", flat=True))
    assert sorted(assignment.display_order) == sorted(candidates)
    assignment.refresh_from_db()
    assert set(assignment.display_order) == candidates


def test_prompts_outside_the_k_range_are_not_handed_out(make_project, annotator):
    project = make_project(k=3, n_prompts=1, slug="small", members=[annotator], min_k=4)
    assert assignment_next(project=project, annotator=annotator) is None


def test_an_output_is_stored_cleaned_and_deduplicated_on_its_cleaned_text(project):
    prompt = project.prompts.first()
    candidate, created = candidate_create(
        prompt=prompt,
        text=HOSTILE,
        source="tiny\x00",
        generation_settings={"s": "\x00"},
    )
    assert created
    candidate.refresh_from_db()
    assert (candidate.text, candidate.source) == (CLEANED, "tiny")
    assert candidate.generation_settings == {"s": ""}
    again, created = candidate_create(prompt=prompt, text=CLEANED, source="tiny")
    assert (again.pk, created) == (candidate.pk, False)
    assert prompt.candidates.count() == 5


def test_a_prompt_is_stored_cleaned_with_its_messages_and_metadata(project):
    messages = [{"role": "user", "content": HOSTILE}]
    prompt, created = prompt_create(
        project=project, messages=messages, metadata={"from\x00": "web\ud800"}
    )
    assert created
    prompt.refresh_from_db()
    assert prompt.messages == [{"role": "user", "content": CLEANED}]
    assert prompt.metadata == {"from": "web"}
    text_prompt, _ = prompt_create(project=project, text=HOSTILE)
    text_prompt.refresh_from_db()
    assert text_prompt.text == CLEANED
    cleaned = [{"role": "user", "content": CLEANED}]
    assert prompt_create(project=project, messages=cleaned) == (prompt, False)


def test_notes_are_stored_cleaned(assignment, annotator):
    submission = full_submission(assignment, notes=" B\x00 is off\ufffd topic\r\n")
    annotation, _ = annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, submission=submission
    )
    annotation.refresh_from_db()
    assert annotation.notes == "B is off topic"
