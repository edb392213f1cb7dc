"""Behaviour of the REST API: tokens, the labeling loop, bulk writes, errors, lists."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotate.models import Annotation, Assignment, Candidate, Project, Prompt

pytestmark = pytest.mark.django_db
# NUL, lost bytes (U+FFFD), a bell, a lone surrogate and a Windows line end: what
# the embedded model writes and what PostgreSQL refuses, and how it is stored.
HOSTILE = "Hi\x00 there\ufffd,\x07 friend\ud800\r\n"
CLEANED = "Hi there, friend\n"
NOTHING_READABLE = (
    "This field has nothing readable: it is empty, or only whitespace, control or "
    "invisible characters."
)


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


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


def post_json(client: APIClient, url: str, body: Any) -> Any:
    """The body as JSON text with \\u escapes, as clients send NUL and surrogates."""
    return client.post(url, json.dumps(body), content_type="application/json")


def submission(task: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    order = [output["candidate"] for output in task["outputs"]]
    body = {
        "assignment": task["id"],
        "client_id": str(uuid.uuid4()),
        "ranking": [[cid] for cid in order],
        "likert": {str(cid): 7 - i for i, cid in enumerate(order)},
    }
    return {**body, **overrides}


def test_a_token_from_username_and_password_authenticates(project, lead):
    anonymous = APIClient()
    token = anonymous.post(
        "/api/v1/auth/token/",
        {"username": "lena_lead", "password": "pw-lead-123"},
        format="json",
    ).json()["token"]
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anonymous.get("/api/v1/projects/").json()["count"] == 1


def test_wrong_password_and_bad_token_say_what_is_wrong(project):
    client = APIClient()
    refused = client.post(
        "/api/v1/auth/token/",
        {"username": "lena_lead", "password": "nope"},
        format="json",
    )
    assert refused.status_code == 400
    assert "credentials" in refused.json()["errors"]["body"]
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get("/api/v1/projects/")
    assert response.status_code == 401
    assert response.json() == {"errors": {"authorization": "Invalid token."}}
    assert response.headers["WWW-Authenticate"] == "Token"


def test_annotator_labels_through_the_api_and_a_repeat_stores_once(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    assert [output["letter"] for output in task["outputs"]] == ["A", "B", "C"]
    assert next_task(client, project)["id"] == task["id"], "same task until done"
    body = submission(task, notes="  fine  ")
    first = client.post("/api/v1/annotations/", body, format="json")
    again = client.post("/api/v1/annotations/", body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["notes"] == "fine"
    assert [j["rank"] for j in first.json()["judgements"]] == [1, 2, 3]
    comparisons = client.get(f"/api/v1/comparisons/?annotation={first.json()['id']}")
    assert comparisons.json()["count"] == 3
    assert Annotation.objects.count() == 1
    assert Assignment.objects.get(pk=task["id"]).status == "submitted"


def test_a_refused_submission_names_each_field_and_writes_nothing(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    first = task["outputs"][0]["candidate"]
    body = submission(task, ranking=[[first]], flags={str(first): ["nonsense"]})
    response = client.post("/api/v1/annotations/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["ranking"] == "Rank every output: B, C not ranked yet."
    assert "unknown flag(s) nonsense" in errors["flags"]
    assert not Annotation.objects.exists()


def test_a_contradicting_ranking_needs_confirmation(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    order = [output["candidate"] for output in task["outputs"]]
    likert = {str(order[0]): 1, str(order[1]): 4, str(order[2]): 2}
    body = submission(task, likert=likert)
    refused = client.post("/api/v1/annotations/", body, format="json")
    assert refused.status_code == 409
    assert "confirm_conflicts" in refused.json()["errors"]
    assert "A is ranked above B but rated lower (1 < 4)." in refused.json()["warnings"]
    assert not Annotation.objects.exists()
    confirmed = client.post(
        "/api/v1/annotations/", {**body, "confirm_conflicts": True}, format="json"
    )
    assert confirmed.status_code == 201


def test_skip_needs_a_reason_and_frees_the_prompt(project, annotator):
    client = api_as(annotator)
    task = next_task(client, project)
    url = f"/api/v1/assignments/{task['id']}/skip/"
    body = {"client_id": str(uuid.uuid4()), "reason": " "}
    no_reason = client.post(url, body, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == {"reason": NOTHING_READABLE}
    body["reason"] = "Needs domain knowledge"
    skipped = client.post(url, body, format="json")
    assert skipped.status_code == 201
    assert skipped.json()["skipped"] is True
    assert client.post(url, body, format="json").status_code == 200
    assert next_task(client, project)["prompt"]["id"] != task["prompt"]["id"]


@pytest.mark.parametrize("path", ["annotations/", "assignments/{id}/skip/"])
def test_a_time_spent_too_large_to_store_is_refused(project, annotator, path):
    client = api_as(annotator)
    task = next_task(client, project)
    body = submission(task, reason="Off topic", time_spent_ms=10**20)
    response = client.post("/api/v1/" + path.format(id=task["id"]), body, format="json")
    assert response.status_code == 400
    assert "less than or equal to" in response.json()["errors"]["time_spent_ms"]


def test_an_empty_queue_answers_204(make_project, annotator):
    project = make_project(k=3, n_prompts=0, members=[annotator])
    response = api_as(annotator).post(
        "/api/v1/assignments/next/", {"project": project.pk}, format="json"
    )
    assert response.status_code == 204


def test_prompts_are_added_in_bulk_all_or_none_and_idempotently(project, lead):
    client = api_as(lead)
    rows = [
        {"project": project.pk, "text": "Summarise this."},
        {
            "project": project.pk,
            "messages": [{"role": "user", "content": "Hi"}],
            "metadata": {"source": "hh"},
        },
    ]
    bad = client.post("/api/v1/prompts/", [*rows, {"project": project.pk}], "json")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {
        "2.text": "Give the prompt's text or its chat messages."
    }
    assert Prompt.objects.filter(project=project).count() == 2
    created = client.post("/api/v1/prompts/", rows, format="json")
    assert created.status_code == 201
    assert [row["created"] for row in created.json()] == [True, True]
    repeated = client.post("/api/v1/prompts/", rows, format="json")
    assert repeated.status_code == 200
    assert [row["created"] for row in repeated.json()] == [False, False]
    assert Prompt.objects.filter(project=project).count() == 4


THE_PROJECT = object()  # stands for the test project's id, whatever the database gives


def with_project_id(body: Any, pk: int) -> Any:
    """The body with each THE_PROJECT replaced by the project's id."""
    if body is THE_PROJECT:
        return pk
    if isinstance(body, dict):
        return {key: with_project_id(value, pk) for key, value in body.items()}
    if isinstance(body, list):
        return [with_project_id(value, pk) for value in body]
    return body


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"project": THE_PROJECT, "text": "x"}, "body", "Expected a list of items"),
        ([], "body", "may not be empty"),
        ([{"project": "one", "text": "x"}], "0.project", "No project one"),
        (
            [{"project": THE_PROJECT, "messages": [{"role": "robot", "content": "x"}]}],
            "0.messages.0.role",
            '"robot" is not a valid choice.',
        ),
        (
            [{"project": THE_PROJECT, "text": "\x00\ufffd\u200b"}],
            "0.text",
            "Give the prompt's",
        ),
        (
            [
                {
                    "project": THE_PROJECT,
                    "messages": [{"role": "user", "content": "\x00 \u200b"}],
                }
            ],
            "0.messages.0.content",
            NOTHING_READABLE,
        ),
    ],
)
def test_bulk_errors_name_the_row_and_field(project, lead, body, field, message):
    body = with_project_id(body, project.pk)
    response = api_as(lead).post("/api/v1/prompts/", body, format="json")
    assert response.status_code == 400
    assert message in response.json()["errors"][field]


def test_outputs_are_added_in_bulk_and_shown_to_leads_with_their_source(project, lead):
    prompt = project.prompts.first()
    rows = [
        {"prompt": prompt.pk, "text": "A fourth answer.", "source": "policy-r2"},
        {"prompt": prompt.pk, "text": "Output 0 to 0", "source": "m0"},
    ]
    response = api_as(lead).post("/api/v1/candidates/", rows, format="json")
    assert response.status_code == 201
    assert [row["created"] for row in response.json()] == [True, False]
    assert response.json()[0]["source"] == "policy-r2"
    assert Candidate.objects.filter(prompt=prompt).count() == 4


@pytest.mark.postgres
def test_text_the_database_refuses_is_stored_cleaned_not_refused(project, lead):
    prompt, client = project.prompts.first(), api_as(lead)
    row = {
        "prompt": prompt.pk,
        "text": HOSTILE,
        "source": " tiny\x00 ",
        "generation_settings": {"why": "x\x00"},
    }
    created = post_json(client, "/api/v1/candidates/", [row])
    assert created.status_code == 201, created.json()
    [answer] = created.json()
    assert (answer["text"], answer["source"], answer["created"]) == (
        CLEANED,
        "tiny",
        True,
    )
    assert Candidate.objects.get(pk=answer["id"]).generation_settings == {"why": "x"}
    clean_row = {"prompt": prompt.pk, "text": CLEANED, "source": "tiny"}
    again = post_json(client, "/api/v1/candidates/", [clean_row])
    assert [(r["id"], r["created"]) for r in again.json()] == [(answer["id"], False)]
    blank = {"prompt": prompt.pk, "text": "\x00\ufffd \u200b", "source": "tiny"}
    refused = post_json(client, "/api/v1/candidates/", [clean_row, blank])
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"1.text": NOTHING_READABLE}
    chat = [{"role": "user", "content": HOSTILE}]
    rows = [{"project": project.pk, "messages": chat, "metadata": {"k": ["a\x00b"]}}]
    added = post_json(client, "/api/v1/prompts/", rows)
    assert added.status_code == 201, added.json()
    stored = Prompt.objects.get(pk=added.json()[0]["id"])
    assert (stored.messages[0]["content"], stored.metadata) == (CLEANED, {"k": ["ab"]})


@pytest.mark.postgres
def test_notes_are_stored_cleaned(project, annotator):
    client = api_as(annotator)
    body = submission(next_task(client, project), notes="\x00B is off topic\ufffd")
    response = post_json(client, "/api/v1/annotations/", body)
    assert response.status_code == 201, response.json()
    assert response.json()["notes"] == "B is off topic"


def test_malformed_json_is_refused_with_the_body_named(project, annotator):
    response = api_as(annotator).post(
        "/api/v1/annotations/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["errors"]["body"]


def test_project_settings_are_validated_by_field(project, lead):
    client = api_as(lead)
    url = f"/api/v1/projects/{project.pk}/"
    flags = [{"key": "rude", "label": "Rude"}, {"key": "rude", "label": "Again"}]
    response = client.patch(
        url, {"likert_labels": ["only one"], "flags": flags}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "likert_labels": "Ensure this field has at least 7 elements.",
        "flags": "Flag keys must be unique; repeated: rude.",
    }
    changed = client.patch(url, {"instructions": "Prefer short answers."}, "json")
    assert changed.status_code == 200
    project.refresh_from_db()
    assert project.instructions == "Prefer short answers."


def test_leads_set_the_gold_rate_and_feedback_through_the_api(project, lead):
    client = api_as(lead)
    url = f"/api/v1/projects/{project.pk}/"
    refused = client.patch(url, {"gold_rate": 1.5}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "gold_rate": "Ensure this value is less than or equal to 1.0."
    }
    body = {"gold_rate": 0.2, "gold_feedback": False}
    changed = client.patch(url, body, format="json")
    assert changed.status_code == 200
    assert (changed.json()["gold_rate"], changed.json()["gold_feedback"]) == (
        0.2,
        False,
    )
    project.refresh_from_db()
    assert (project.gold_rate, project.gold_feedback) == (0.2, False)


def test_lists_filter_by_status_and_annotator_and_refuse_bad_values(
    make_project, annotator, other_annotator, lead
):
    project = make_project(k=2, n_prompts=3, members=[annotator, other_annotator])
    for user in (annotator, other_annotator):
        next_task(api_as(user), project)
    client = api_as(lead)
    mine = client.get("/api/v1/assignments/?annotator=ada_annotator&status=open")
    assert [row["annotator"] for row in mine.json()["results"]] == ["ada_annotator"]
    assert client.get("/api/v1/assignments/?status=submitted").json()["count"] == 0
    bad = client.get("/api/v1/assignments/?status=done&project=x")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {
        "status": '"done" is not a valid choice.',
        "project": "A valid integer is required.",
    }


def test_lists_are_paginated(make_project, lead):
    project = make_project(k=2, n_prompts=5)
    client = api_as(lead)
    page = client.get(f"/api/v1/prompts/?project={project.pk}&page_size=2&page=3")
    assert page.json()["count"] == 5
    assert len(page.json()["results"]) == 1
    assert page.json()["next"] is None
    too_big = client.get("/api/v1/prompts/?page_size=5000")
    assert too_big.status_code == 400
    assert "page_size" in too_big.json()["errors"]


@pytest.mark.parametrize(
    "resource", ["prompts", "candidates", "assignments", "annotations", "comparisons"]
)
def test_list_queries_do_not_grow_with_rows(
    make_project, annotator, lead, resource, django_assert_max_num_queries
):
    project = make_project(k=3, n_prompts=6, members=[annotator])
    client = api_as(annotator)
    for _ in range(4):
        task = next_task(client, project)
        client.post("/api/v1/annotations/", submission(task), format="json")
    with django_assert_max_num_queries(6):
        response = api_as(lead).get(f"/api/v1/{resource}/")
    assert response.json()["count"] >= 4


def test_unknown_api_paths_answer_json(annotator):
    client = api_as(annotator)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "errors": {"detail": "No API endpoint at /api/v1/no-such-thing/."}
    }
    for odd_id in ("-1e-5", str(10**30)):
        response = client.get(f"/api/v1/prompts/{odd_id}/")
        assert response.status_code == 404
        assert response.json()["errors"]["detail"] == (
            f"No prompt {odd_id} among those you may see."
        )


def test_schema_and_docs_page_need_no_internet(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/annotations/" in paths and "/api/v1/assignments/next/" in paths
    docs = client.get("/api/docs/").content.decode()
    assert "/api/schema/?format=json" in docs
    assert "https://" not in docs and "cdn" not in docs.lower()
