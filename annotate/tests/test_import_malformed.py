"""Malformed import files are refused row by row, never with a 500 or a traceback.

NUL bytes, lone surrogates, nesting bombs, bytes that are not UTF-8 and values of the
wrong type each come back as a row error naming the row (and the field, where one is
at fault), with nothing written: from the service, the command, the admin upload and
the API upload alike.
"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotate.importing.caps import MAX_DEPTH
from annotate.importing.jobs import import_job_run
from annotate.importing.service import ImportRejected, import_file
from annotate.models import Annotation, ImportJob, Project, Prompt

pytestmark = pytest.mark.django_db

TOO_DEEP = f"nests more than {MAX_DEPTH} levels deep; expected at most {MAX_DEPTH}"
NOTHING_READABLE = (
    "has nothing readable: it is empty, or only whitespace, control or invisible "
    "characters"
)
GOOD = b'{"prompt": "Fine.", "chosen": "yes", "rejected": "no"}\n'
BOMB = b'{"prompt": "Q", "chosen": "a", "rejected": ' + b"[" * 100_000 + b"]" * 100_000


def rows_refused(path: Path, **kwargs) -> dict[int | None, str]:
    with pytest.raises(ImportRejected) as excinfo:
        import_file(path=path, project_slug="imp", **kwargs)
    assert not Project.objects.filter(slug="imp").exists()
    return {error.row: error.message for error in excinfo.value.errors}


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


# (file name, bytes, {row: message}) — row 1 is always a good row.
MALFORMED = [
    pytest.param(
        "nul.jsonl",
        GOOD + b'{"prompt": "a\x00b", "chosen": "y", "rejected": "n"}\n',
        {2: "is not valid JSON (Invalid control character at column 14)"},
        id="raw NUL",
    ),
    pytest.param(
        "surrogate.jsonl",
        GOOD + b'{"prompt": "Q", "chosen": "\\ud800\\u0000", "rejected": "n"}\n',
        {2: f"field 'chosen' {NOTHING_READABLE}; expected the output"},
        id="lone surrogate",
    ),
    pytest.param(
        "surrogate-bytes.jsonl",
        GOOD + b'{"prompt": "Q", "chosen": "\xed\xa0\x80", "rejected": "n"}\n',
        {2: "is not UTF-8 text (bad byte at column 28)"},
        id="surrogate encoded as UTF-8",
    ),
    pytest.param(
        "latin1.jsonl",
        GOOD + '{"prompt": "Café", "chosen": "y", "rejected": "n"}\n'.encode("latin-1"),
        {2: "is not UTF-8 text (bad byte at column 16)"},
        id="invalid UTF-8",
    ),
    pytest.param("bomb.jsonl", GOOD + BOMB + b"\n" + GOOD, {2: TOO_DEEP}, id="bomb"),
    pytest.param(
        "deep.jsonl",
        GOOD + json.dumps({"prompt": "Q", "meta": nested(500)}).encode() + b"\n",
        {2: TOO_DEEP},
        id="deep, under the recursion limit",
    ),
    pytest.param(
        "types.jsonl",
        GOOD
        + b'{"prompt": 7, "chosen": "y", "rejected": "n"}\n'
        + b'{"prompt": "Q", "chosen": ["y"], "rejected": "n"}\n'
        + b'{"prompt": "Q", "chosen": "y", "rejected": "n", "margin": "big"}\n'
        + b'{"prompt": "Q", "chosen": "y", "rejected": "n", "weight": -1}\n'
        + b'{"prompt": "Q", "chosen": "y", "rejected": "n", "annotator": {"id": 1}}\n'
        + b'[1, 2]\n"text"\n',
        {
            2: "field 'prompt' is int; expected a string or a list of {role, "
            "content} messages",
            3: "field 'chosen' is a list of messages but 'prompt' is a string; use "
            "one format per record",
            4: "field 'margin' is 'big'; expected a number",
            5: "field 'weight' is -1.0; expected a number > 0",
            6: "field 'annotator' is a dict; expected the annotator's pseudonym (a "
            "string)",
            7: "expected an object, got list",
            8: "expected an object, got str",
        },
        id="wrong types",
    ),
    pytest.param(
        "cells.csv",
        b'prompt,chosen,rejected\nFine.,yes,no\n"Caf\xe9",y,n\n',
        {3: "field 'prompt' is not UTF-8 text"},
        id="CSV invalid UTF-8",
    ),
    pytest.param(
        "ranked.csv",
        b'prompt,completions,ranks\nQ,"[""a"", ""b""]","[1, 2]"\n'
        + b"Q2,"
        + b"[" * 5000
        + b",[1]\n",
        {3: f"field 'completions' {TOO_DEEP}; expected a list"},
        id="CSV JSON cell bomb",
    ),
    pytest.param(
        "array.json",
        b'[{"prompt": "ok"}, {"prompt": "\xff"}, {"prompt": '
        + json.dumps(nested(100)).encode()
        + b'}, {"prompt": 7}]',
        {
            2: "is not UTF-8 text",
            3: TOO_DEEP,
            4: "field 'prompt' is int; expected a string or a list of {role, "
            "content} messages",
        },
        id="JSON array",
    ),
    pytest.param(
        "array-bomb.json",
        b'[{"prompt": "ok"}, ' + BOMB + b"}]",
        {None: f"array-bomb.json row 2: {TOO_DEEP}"},
        id="JSON array past the recursion limit",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), MALFORMED)
def test_malformed_files_give_row_errors_and_write_nothing(
    tmp_path, name, content, expected
):
    path = tmp_path / name
    path.write_bytes(content)
    assert rows_refused(path) == expected
    assert not Prompt.objects.exists()


def test_parquet_values_of_the_wrong_type_name_row_and_field(tmp_path):
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "prompt": pa.array(["Q1", "Q2", "Q3"]),
            "completions": pa.array([["a", "b"], ["a", "b"], ["a", "b"]]),
            "ranks": pa.array([[1, 2], [1, None], [2, 1]]),
            "weight": pa.array([b"\x00", None, None], type=pa.binary()),
        }
    )
    pq.write_table(table, path)
    assert rows_refused(path) == {
        1: "field 'weight' is b'\\x00'; expected a number",
        2: "field 'ranks' value 2 is None; expected a whole number >= 1",
    }


def test_a_value_quoted_in_an_error_is_cut_short(tmp_path):
    path = tmp_path / "long.jsonl"
    record = {"prompt": "Q", "completion": "y", "label": "maybe" * 5000}
    path.write_text(json.dumps(record) + "\n")
    (message,) = rows_refused(path, format="trl-unpaired").values()
    assert message.startswith("field 'label' is 'maybemaybe")
    assert len(message) == 500 and message.endswith("…")


def test_the_command_answers_row_errors_not_a_traceback(tmp_path):
    path = tmp_path / "bomb.jsonl"
    path.write_bytes(GOOD + BOMB + b"\n")
    with pytest.raises(CommandError) as excinfo:
        call_command("import_data", str(path), "--project", "imp")
    assert str(excinfo.value) == f"Nothing imported.\nrow 2: {TOO_DEEP}"


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


def test_the_admin_upload_shows_the_row_errors_on_its_job_page(
    superuser_client, make_project
):
    project = make_project(n_prompts=0, slug="imp")
    upload = SimpleUploadedFile("bomb.jsonl", GOOD + BOMB + b"\n\xff\n")
    url = reverse("admin:annotate_project_import", args=[project.pk])
    answer = superuser_client.post(url, {"file": upload, "format": "auto"})
    assert answer.status_code == 302
    job = ImportJob.objects.get()
    import_job_run(job_id=job.pk)  # what the worker does
    page = superuser_client.get(answer["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert f"row 2: {TOO_DEEP}" in text
    assert "row 3: is not UTF-8 text (bad byte at column 1)" in text
    assert not Prompt.objects.exists()


def test_the_api_upload_reports_the_row_errors_on_its_job(make_project, lead):
    project = make_project(n_prompts=0)
    client = APIClient()
    client.force_authenticate(lead)
    upload = SimpleUploadedFile("nul.jsonl", b'{"prompt": "a\x00"}\n{"prompt": 3}\n')
    answer = client.post(
        "/api/v1/imports/", {"project": project.pk, "file": upload}, format="multipart"
    )
    assert answer.status_code == 202, answer.json()
    import_job_run(job_id=answer.json()["id"])
    job = client.get(answer["Location"]).json()
    assert (job["state"], job["report"]) == ("failed", None)
    assert job["errors"] == [
        {"row": 1, "message": "is not valid JSON (Invalid control character at "
         "column 14)"},
        {"row": 2, "message": "field 'prompt' is int; expected a string or a list "
         "of {role, content} messages"},
    ]  # fmt: skip
    assert not Annotation.objects.exists() and not project.prompts.exists()
