"""Server-side drafts of the task page: saved while working, never an annotation."""

import json
import uuid

import pytest
from django.urls import reverse

from annotate.models import Annotation, Assignment
from annotate.services import (
    Draft,
    DraftConflict,
    Submission,
    annotation_submit,
    assignment_draft_save,
    assignment_next,
    assignment_skip,
    membership_remove,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


@pytest.fixture
def assignment(project, annotator) -> Assignment:
    found = assignment_next(project=project, annotator=annotator)
    assert found is not None
    return found


@pytest.fixture
def annotator_client(client, annotator):
    client.force_login(annotator)
    return client


def draft_url(assignment: Assignment) -> str:
    return reverse(
        "annotate:draft", args=[assignment.prompt.project.slug, assignment.pk]
    )


def draft_body(assignment: Assignment, *, page: uuid.UUID, revision: int, **fields):
    a, b, _ = assignment.display_order
    body = {
        "page": str(page),
        "revision": revision,
        "ranking": [[b], [], [a]],
        "likert": {str(a): 2},
        "flags": {str(b): ["harmful_advice"]},
        "notes": "C is off topic",
    }
    return {**body, **fields}


def post_draft(client, assignment, body):
    return client.post(
        draft_url(assignment), data=json.dumps(body), content_type="application/json"
    )


def test_a_saved_draft_comes_back_with_the_task_page_and_is_no_annotation(
    annotator_client, assignment
):
    a, b, _ = assignment.display_order
    page = uuid.uuid4()
    response = post_draft(
        annotator_client, assignment, draft_body(assignment, page=page, revision=0)
    )
    assert response.status_code == 200
    assert response.json() == {"revision": 1}

    task = annotator_client.get(
        reverse("annotate:task", args=[assignment.prompt.project.slug, assignment.pk])
    )
    config = task.context["task_config"]
    assert config["draftRevision"] == 1
    assert config["draft"] == {
        "page": str(page),
        "ranking": [[b], [], [a]],
        "likert": {str(a): 2},
        "flags": {str(b): ["harmful_advice"]},
        "flags_no": {},
        "prompt_flags": [],
        "prompt_flags_no": [],
        "notes": "C is off topic",
    }
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.OPEN
    assert not Annotation.objects.exists()


def test_a_stale_page_does_not_overwrite_a_newer_draft(annotator_client, assignment):
    a, b, c = assignment.display_order
    first_tab, second_tab = uuid.uuid4(), uuid.uuid4()
    # Both tabs loaded revision 0; the first saves twice.
    for revision, notes in [(0, "first"), (1, "first, later")]:
        body = draft_body(assignment, page=first_tab, revision=revision, notes=notes)
        assert post_draft(annotator_client, assignment, body).status_code == 200

    stale = draft_body(assignment, page=second_tab, revision=0, notes="stale")
    response = post_draft(annotator_client, assignment, stale)

    assert response.status_code == 409
    assert response.json()["revision"] == 2
    assert "another tab or device" in response.json()["errors"]["revision"]
    assignment.refresh_from_db()
    assert (assignment.draft["notes"], assignment.draft_revision) == (
        "first, later",
        2,
    )
    # Told the newer revision, the tab may knowingly save its own version over it.
    newer = draft_body(assignment, page=second_tab, revision=2, notes="second")
    assert post_draft(annotator_client, assignment, newer).json() == {"revision": 3}


def test_a_page_may_resend_a_save_whose_answer_it_never_got(assignment, annotator):
    page = uuid.uuid4()
    draft = Draft(buckets=[], likert={}, notes="one")
    assert (
        assignment_draft_save(
            assignment_id=assignment.pk,
            annotator=annotator,
            draft=draft,
            page_id=page,
            base_revision=0,
        )
        == 1
    )
    # The answer to that save was lost: the page still thinks it has revision 0.
    again = Draft(buckets=[], likert={}, notes="one, two")
    assert (
        assignment_draft_save(
            assignment_id=assignment.pk,
            annotator=annotator,
            draft=again,
            page_id=page,
            base_revision=0,
        )
        == 2
    )
    with pytest.raises(DraftConflict):
        assignment_draft_save(
            assignment_id=assignment.pk,
            annotator=annotator,
            draft=draft,
            page_id=uuid.uuid4(),
            base_revision=0,
        )


def test_submit_and_skip_clear_the_draft_and_a_late_save_is_refused(
    annotator_client, project, assignment, annotator
):
    order = assignment.display_order
    page = uuid.uuid4()
    post_draft(
        annotator_client, assignment, draft_body(assignment, page=page, revision=0)
    )
    annotation_submit(
        assignment_id=assignment.pk,
        annotator=annotator,
        submission=Submission(
            client_id=uuid.uuid4(),
            buckets=[[cid] for cid in order],
            likert={cid: 7 - i for i, cid in enumerate(order)},
        ),
    )
    assignment.refresh_from_db()
    assert assignment.draft is None

    late = post_draft(
        annotator_client, assignment, draft_body(assignment, page=page, revision=1)
    )
    assert late.status_code == 400
    assert late.json() == {
        "errors": {"assignment": f"Assignment {assignment.pk} was already submitted."}
    }
    assert Annotation.objects.get().assignment_id == assignment.pk

    second = assignment_next(project=project, annotator=annotator)
    assert second is not None
    post_draft(annotator_client, second, draft_body(second, page=page, revision=0))
    assignment_skip(
        assignment_id=second.pk,
        annotator=annotator,
        client_id=uuid.uuid4(),
        reason="unclear",
    )
    second.refresh_from_db()
    assert second.draft is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"ranking": [[999]]},
            "ranking",
            "Expected at most 3 rank buckets holding this task's outputs, "
            "each output at most once.",
        ),
        ({"ranking": [[], [], [], []]}, "ranking", "Expected at most 3 rank buckets"),
        ({"likert": {"999": 3}}, "likert", "Expected ratings 1–7 of this task's"),
        ({"flags": {"999": ["harmful_advice"]}}, "flags", "not in this task"),
    ],
)
def test_a_draft_that_does_not_fit_the_task_is_refused_by_field(
    annotator_client, assignment, fields, field, message
):
    body = draft_body(assignment, page=uuid.uuid4(), revision=0, **fields)
    response = post_draft(annotator_client, assignment, body)
    assert response.status_code == 400
    assert message in response.json()["errors"][field]
    assignment.refresh_from_db()
    assert (assignment.draft, assignment.draft_revision) == (None, 0)


def test_a_repeated_output_or_a_rating_out_of_scale_is_refused(
    annotator_client, assignment
):
    a = assignment.display_order[0]
    body = draft_body(
        assignment,
        page=uuid.uuid4(),
        revision=0,
        ranking=[[a], [a]],
        likert={str(a): 9},
    )
    errors = post_draft(annotator_client, assignment, body).json()["errors"]
    assert set(errors) == {"ranking", "likert"}


def test_a_draft_without_a_session_gets_401_json(client, assignment):
    body = draft_body(assignment, page=uuid.uuid4(), revision=0)
    response = post_draft(client, assignment, body)
    assert response.status_code == 401
    assert response.json() == {
        "errors": {"session": "Your session has ended; log in again."}
    }


def test_someone_elses_or_a_left_projects_task_takes_no_draft(
    client, project, assignment, annotator, other_annotator
):
    body = draft_body(assignment, page=uuid.uuid4(), revision=0)
    client.force_login(other_annotator)
    assert post_draft(client, assignment, body).status_code == 403  # not a member

    client.force_login(annotator)
    membership_remove(project=project, user=annotator)
    assert post_draft(client, assignment, body).status_code == 403
