"""Caps on notes, skip reasons and prompt metadata (annotate.limits), at every write
path: the task page's JSON, the REST API, the services and the admin; nothing is
written past a cap, and the error names the field, the length and the setting."""

import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from annotate import limits
from annotate.models import Annotation, Assignment, Prompt
from annotate.services import (
    Submission,
    SubmissionError,
    annotation_submit,
    assignment_next,
    assignment_skip,
    prompt_create,
)

pytestmark = pytest.mark.django_db

NOTES_ERROR = (
    "This field has 21 characters; expected at most 20 (RANKWISE_MAX_NOTES_CHARS)."
)
REASON_ERROR = (
    "This field has 11 characters; expected at most 10 "
    "(RANKWISE_MAX_SKIP_REASON_CHARS)."
)


@pytest.fixture
def capped(settings):
    settings.RANKWISE_MAX_NOTES_CHARS = 20
    settings.RANKWISE_MAX_SKIP_REASON_CHARS = 10
    settings.RANKWISE_MAX_METADATA_BYTES = 30


@pytest.fixture
def task(make_project, annotator) -> Assignment:
    project = make_project(k=2, n_prompts=1, members=[annotator])
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment is not None
    return assignment


def submission_body(assignment: Assignment, notes: str) -> dict:
    first, second = assignment.display_order
    return {
        "client_id": str(uuid.uuid4()),
        "ranking": [[first], [second]],
        "likert": {str(first): 6, str(second): 3},
        "notes": notes,
    }


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def still_open(assignment: Assignment) -> bool:
    assignment.refresh_from_db()
    return (
        assignment.status == Assignment.Status.OPEN and not Annotation.objects.exists()
    )


def test_the_task_page_refuses_long_notes_and_takes_them_at_the_cap(
    capped, task, annotator, client
):
    client.force_login(annotator)
    url = reverse("annotate:submit", args=[task.prompt.project.slug, task.pk])
    refused = client.post(
        url, json.dumps(submission_body(task, "n" * 21)), "application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"notes": NOTES_ERROR}
    assert still_open(task)
    stored = client.post(
        url, json.dumps(submission_body(task, "n" * 20)), "application/json"
    )
    assert stored.status_code == 201
    assert Annotation.objects.get().notes == "n" * 20


def test_the_task_page_refuses_a_long_skip_reason(capped, task, annotator, client):
    client.force_login(annotator)
    url = reverse("annotate:skip", args=[task.prompt.project.slug, task.pk])
    body = {"client_id": str(uuid.uuid4()), "reason": "r" * 11}
    refused = client.post(url, json.dumps(body), "application/json")
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        {"reason": REASON_ERROR},
    )
    assert still_open(task)


def test_the_api_refuses_long_notes_and_skip_reasons(capped, task, annotator):
    api = api_as(annotator)
    body = {**submission_body(task, "n" * 21), "assignment": task.pk}
    refused = api.post("/api/v1/annotations/", body, format="json")
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        {"notes": NOTES_ERROR},
    )
    skip = {"client_id": str(uuid.uuid4()), "reason": "r" * 11}
    skipped = api.post(f"/api/v1/assignments/{task.pk}/skip/", skip, format="json")
    assert (skipped.status_code, skipped.json()["errors"]) == (
        400,
        {"reason": REASON_ERROR},
    )
    assert still_open(task)


def test_the_services_refuse_long_notes_and_reasons_counted_once_cleaned(
    capped, task, annotator
):
    first, second = task.display_order
    # Surrounding blanks and NULs are not stored, so they do not count.
    fits = Submission(
        client_id=uuid.uuid4(),
        buckets=[[first], [second]],
        likert={first: 6, second: 3},
        notes="  " + "n" * 20 + "\x00  ",
    )
    too_long = Submission(**{**fits.__dict__, "notes": "n" * 21})
    with pytest.raises(SubmissionError) as refused:
        annotation_submit(
            assignment_id=task.pk, annotator=annotator, submission=too_long
        )
    assert refused.value.errors == {
        "notes": "This text has 21 characters; expected at most 20 "
        "(RANKWISE_MAX_NOTES_CHARS)."
    }
    with pytest.raises(SubmissionError) as refused_skip:
        assignment_skip(
            assignment_id=task.pk,
            annotator=annotator,
            client_id=uuid.uuid4(),
            reason="r" * 11,
        )
    assert list(refused_skip.value.errors) == ["reason"]
    assert still_open(task)
    annotation, _ = annotation_submit(
        assignment_id=task.pk, annotator=annotator, submission=fits
    )
    assert annotation.notes == "n" * 20


def test_prompt_metadata_over_its_cap_is_refused_by_the_service_and_the_api(
    capped, make_project, lead
):
    project = make_project(n_prompts=0)
    big = {"source": "x" * 30}  # {"source":"xxx…"} is 43 bytes as compact JSON
    with pytest.raises(limits.TextTooLong) as refused:
        prompt_create(project=project, text="Q?", metadata=big)
    assert refused.value.message_dict == {
        "metadata": [
            "The prompt's metadata is 43 bytes as JSON; expected at most 30 "
            "(RANKWISE_MAX_METADATA_BYTES)."
        ]
    }
    rows = [
        {"project": project.pk, "text": "Fine?", "metadata": {"s": 1}},
        {"project": project.pk, "text": "Q?", "metadata": big},
    ]
    answer = api_as(lead).post("/api/v1/prompts/", rows, format="json")
    assert answer.status_code == 400
    assert "43 bytes as JSON" in answer.json()["errors"]["metadata"]
    assert not Prompt.objects.exists()  # all or none
    prompt, created = prompt_create(project=project, text="Q?", metadata={"s": 1})
    assert created and prompt.metadata == {"s": 1}


def test_the_admin_forms_check_the_caps(
    capped, make_project, client, django_user_model
):
    root = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(root)
    prompt = make_project(k=2, n_prompts=1).prompts.get()
    url = reverse("admin:annotate_prompt_change", args=[prompt.pk])
    form = {
        "project": prompt.project_id,
        "text": prompt.text,
        "messages": "[]",
        "metadata": json.dumps({"source": "x" * 30}),
        "candidates-TOTAL_FORMS": "0",
        "candidates-INITIAL_FORMS": "0",
    }
    page = client.post(url, form)
    assert page.status_code == 200  # the form again, with the error
    assert (
        "This value is 43 bytes as JSON; expected at most 30" in page.content.decode()
    )
    prompt.refresh_from_db()
    assert prompt.metadata == {}
    # The annotation's admin form runs the same validators.
    with pytest.raises(ValidationError) as invalid:
        Annotation(notes="n" * 21, skip_reason="r" * 11).clean_fields(
            exclude=["assignment"]
        )
    assert invalid.value.message_dict == {
        "notes": [
            "This text has 21 characters; expected at most 20 "
            "(RANKWISE_MAX_NOTES_CHARS)."
        ],
        "skip_reason": [
            "This text has 11 characters; expected at most 10 "
            "(RANKWISE_MAX_SKIP_REASON_CHARS)."
        ],
    }
