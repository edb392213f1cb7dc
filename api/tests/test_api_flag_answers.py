"""The prompt checklist and Yes/No answers over the REST API: project settings and
submissions, each refusal named by field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotate.models import Annotation, Project

pytestmark = pytest.mark.django_db

FLAGS = [{"key": "rude", "label": "Rude", "description": "Insults the user."}]
PROMPT_FLAGS = [{"key": "unclear", "label": "Unclear", "description": ""}]


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=2, n_prompts=2, members=[annotator], flags=FLAGS)


def api_as(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def next_task(client: APIClient, project: Project) -> dict[str, Any]:
    response = client.post(
        "/api/v1/assignments/next/", {"project": project.pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def submission(task: dict[str, Any], **answers: Any) -> dict[str, Any]:
    a, b = (output["candidate"] for output in task["outputs"])
    return {
        "assignment": task["id"],
        "client_id": str(uuid.uuid4()),
        "ranking": [[a], [b]],
        "likert": {str(a): 6, str(b): 3},
        **answers,
    }


def make_yes_no(lead: User, project: Project) -> None:
    response = api_as(lead).patch(
        f"/api/v1/projects/{project.pk}/",
        {"prompt_flags": PROMPT_FLAGS, "flag_answers": "yes-no"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["prompt_flags"] == PROMPT_FLAGS
    assert response.json()["flag_answers"] == "yes-no"


def test_a_lead_sets_the_prompt_checklist_and_yes_no(project, lead):
    make_yes_no(lead, project)
    project.refresh_from_db()
    assert project.prompt_flags == PROMPT_FLAGS
    assert project.asks_yes_no


def test_bad_settings_are_refused_by_field(project, lead):
    response = api_as(lead).patch(
        f"/api/v1/projects/{project.pk}/",
        {
            "prompt_flags": [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}],
            "flag_answers": "maybe",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "prompt_flags": "Flag keys must be unique; repeated: a.",
        "flag_answers": '"maybe" is not a valid choice.',
    }


def test_a_prompt_flag_in_use_cannot_be_removed(project, lead, annotator):
    client = api_as(annotator)  # the default checklist, ticked
    body = submission(next_task(client, project), prompt_flags=["unclear"])
    assert client.post("/api/v1/annotations/", body, format="json").status_code == 201
    response = api_as(lead).patch(
        f"/api/v1/projects/{project.pk}/", {"prompt_flags": []}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "prompt_flags": "Flag 'unclear' is ticked in 1 annotation of this project, "
        "so it cannot be removed or renamed; keep its key and change its label or "
        "description instead."
    }


def test_a_yes_no_submission_needs_every_answer_and_stores_them(
    project, lead, annotator
):
    make_yes_no(lead, project)
    client = api_as(annotator)
    task = next_task(client, project)
    a, b = (output["candidate"] for output in task["outputs"])
    partial = submission(task, flags={str(a): ["rude"]}, prompt_flags=["spam"])
    refused = client.post("/api/v1/annotations/", partial, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "flags": "Output B: answer Yes or No for 'Rude'.",
        "prompt_flags": "Prompt: unknown flag(s) spam; this project's prompt flags are "
        "unclear. Prompt: answer Yes or No for 'Unclear'.",
    }
    assert not Annotation.objects.exists()

    malformed = submission(task, flags_no=["rude"], prompt_flags_no="unclear")
    refused = client.post("/api/v1/annotations/", malformed, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"flags_no", "prompt_flags_no"}

    body = submission(
        task,
        flags={str(a): ["rude"]},
        flags_no={str(b): ["rude"]},
        prompt_flags_no=["unclear"],
    )
    stored = client.post("/api/v1/annotations/", body, format="json")
    assert stored.status_code == 201, stored.json()
    assert stored.json()["prompt_flags"] == []
    assert stored.json()["prompt_flags_no"] == ["unclear"]
    answers = {
        j["candidate"]: (j["flags"], j["flags_no"]) for j in stored.json()["judgements"]
    }
    assert answers == {a: (["rude"], []), b: ([], ["rude"])}
