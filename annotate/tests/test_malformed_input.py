"""Malformed requests answer a 4xx in the error shape of where they were sent and
write nothing: the labeling screen's JSON endpoints and the REST API alike."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token

from annotate.models import Annotation, Assignment, Prompt
from annotate.services import assignment_next
from api.errors import bad_request, server_error

pytestmark = pytest.mark.django_db

TOO_DEEP = "The body nests arrays and objects more than 32 levels deep."
NOT_UTF8 = "The body is not UTF-8 text: byte 0xff at position 10 cannot be read."
TOO_LARGE = (
    "The body is larger than the 250,000 bytes one request may send; "
    "send it in smaller parts."
)
DATABASE_DOWN = {
    "errors": {"detail": "The database is unavailable; try again in a moment."}
}


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# Raw body → (status, errors), the same on every endpoint.
MALFORMED = {
    "recursion": (
        ('{"notes": ' + nested(100_000) + "}").encode(),
        400,
        {"body": TOO_DEEP},
    ),
    "33 levels": (('{"notes": ' + nested(32) + "}").encode(), 400, {"body": TOO_DEEP}),
    "not utf-8": (b'{"notes":"\xff\xfe"}', 400, {"body": NOT_UTF8}),
    "nan": (
        b'{"time_spent_ms": NaN}',
        400,
        {"body": "Invalid JSON: NaN is not a number JSON allows."},
    ),
    "truncated": (
        b'{"notes": "a',
        400,
        {
            "body": "Invalid JSON: Unterminated string starting at: line 1 column 11 "
            "(char 10)."
        },
    ),
    "too large": (b'{"notes": "' + b"x" * 250_000 + b'"}', 413, {"body": TOO_LARGE}),
}


@pytest.fixture(autouse=True)
def small_upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 250_000  # room for the recursion case


@pytest.fixture
def project(make_project, annotator):
    return make_project(k=3, n_prompts=2, members=[annotator])


@pytest.fixture
def task(project, annotator) -> Assignment:
    assignment = assignment_next(project=project, annotator=annotator)
    assert assignment is not None
    return assignment


@pytest.fixture
def annotator_client(annotator) -> Client:
    client = Client()
    client.force_login(annotator)
    return client


def endpoints(project, task) -> dict[str, str]:
    return {
        "web submit": reverse("annotate:submit", args=[project.slug, task.pk]),
        "web skip": reverse("annotate:skip", args=[project.slug, task.pk]),
        "api submit": "/api/v1/annotations/",
        "api skip": f"/api/v1/assignments/{task.pk}/skip/",
    }


def assert_nothing_written(task: Assignment) -> None:
    task.refresh_from_db()
    assert task.status == Assignment.Status.OPEN
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(
    "endpoint", ["web submit", "web skip", "api submit", "api skip"]
)
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_body_is_refused_with_why(
    annotator_client, project, task, endpoint, case
):
    raw, status, errors = MALFORMED[case]
    url = endpoints(project, task)[endpoint]
    response = annotator_client.post(url, raw, content_type="application/json")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errors": errors}
    assert_nothing_written(task)


def test_nested_field_errors_are_dotted_paths_not_python_reprs(
    annotator_client, project, task
):
    body = {
        "client_id": str(uuid.uuid4()),
        "ranking": [[task.display_order[0], "x"]],
        "likert": {"a": "b"},
        "flags": {str(task.display_order[0]): [{"a": 1}]},
        "assignment": task.pk,
    }
    expected = {
        "ranking.0.1": "A valid integer is required.",
        "likert.a": "A valid integer is required.",
        "flags.1.0": "Not a valid string.",
    }
    expected[f"flags.{task.display_order[0]}.0"] = expected.pop("flags.1.0")
    for url in (endpoints(project, task)["web submit"], "/api/v1/annotations/"):
        response = annotator_client.post(
            url, json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json() == {"errors": expected}
        assert "ErrorDetail" not in response.content.decode()
    assert_nothing_written(task)


def test_the_labeling_endpoints_take_only_json(annotator_client, project, task):
    for name in ("web submit", "web skip"):
        form = annotator_client.post(endpoints(project, task)[name], {"reason": "x"})
        assert form.status_code == 415
        assert form.json() == {
            "errors": {
                "body": "Send the body as JSON, with Content-Type: application/json."
            }
        }
    assert_nothing_written(task)


def test_deep_prompt_metadata_is_refused_and_no_prompt_is_added(project, lead):
    client = Client()
    client.force_login(lead)
    # A list, a row, its metadata and 30 arrays: 33 levels.
    metadata = {"a": json.loads(nested(30))}
    row = {"project": project.pk, "text": "new", "metadata": metadata}
    before = Prompt.objects.count()
    response = client.post(
        "/api/v1/prompts/", json.dumps([row]), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"errors": {"body": TOO_DEEP}}
    assert Prompt.objects.count() == before


def test_an_unreachable_database_answers_503_json_under_api(lead):
    token = Token.objects.create(user=lead)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    down = OperationalError("connection to server failed: Connection refused")
    with mock.patch.object(CursorWrapper, "_execute", side_effect=down):
        response = client.get("/api/v1/projects/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == DATABASE_DOWN


def test_an_unreachable_database_answers_503_json_to_a_session_write(
    annotator_client, task
):
    down = OperationalError("database is locked")
    body = json.dumps({"project": task.prompt.project_id})  # read while it is up
    with mock.patch.object(CursorWrapper, "_execute", side_effect=down):
        response = annotator_client.post(
            "/api/v1/assignments/next/",
            body,
            content_type="application/json",
        )
    assert response.status_code == 503
    assert response.json() == DATABASE_DOWN


def test_an_error_outside_the_api_views_is_json_under_api():
    request = RequestFactory().get("/api/v1/projects/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        unavailable = server_error(request)
    assert unavailable.status_code == 503
    assert json.loads(unavailable.content) == DATABASE_DOWN
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        failed = server_error(request)
    assert failed.status_code == 500
    assert json.loads(failed.content) == {
        "errors": {"detail": "Server error; it has been logged."}
    }


def test_a_body_django_refuses_is_413_json_under_api():
    refused = bad_request(
        RequestFactory().post("/api/v1/prompts/"), RequestDataTooBig("too big")
    )
    assert refused.status_code == 413
    assert json.loads(refused.content) == {"errors": {"body": TOO_LARGE}}


def test_a_request_django_refuses_is_json_under_api(annotator):
    client = Client(HTTP_HOST="evil.example")
    refused = client.get("/api/v1/projects/")
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"body": "The request could not be read."}}
    page = client.get("/accounts/login/")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
