"""An API upload imported by a real Celery worker process, as `make run` runs one.

The API answers 202 at once; a `celery worker --queues default` started here takes
the task from the broker (`make run`'s filesystem:// broker under the var folder, or
whatever CELERY_BROKER_URL names), imports the stored upload into this test's
database (the SQLite file, or PostgreSQL in make test's second pass) and the job's
API answers show its progress end in success.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.test import APIClient

from annotate.models import Annotation, Comparison
from config.embedded import broker_folders

ROOT = Path(__file__).resolve().parents[1]
ROWS = 300
K = 4
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    """This test's database, for the worker process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    broker_folders()
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker",
         "--pool", "solo", "--queues", "default", "--loglevel", "INFO",
         "--hostname", "imports@%h"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url()},
        stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    yield log
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def test_an_uploaded_file_is_imported_by_the_worker(worker, make_project, lead):
    project = make_project(n_prompts=0)
    rows = b"".join(
        json.dumps(
            {
                "prompt": f"Question {i}?",
                "completions": [f"Answer {c} to {i}" for c in range(K)],
                "ranks": list(range(1, K + 1)),
            }
        ).encode()
        + b"\n"
        for i in range(ROWS)
    )
    client = APIClient()
    client.force_authenticate(lead)
    answer = client.post(
        "/api/v1/imports/",
        {"project": project.pk, "file": SimpleUploadedFile("ranked.jsonl", rows)},
        format="multipart",
    )
    assert answer.status_code == 202, answer.json()
    assert answer.json()["state"] == "queued"
    seen = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(answer["Location"]).json()
        seen.add(job["state"])
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    else:
        tail = worker.read_text(errors="replace")[-3000:]
        raise AssertionError(f"the worker did not finish the import; its log:\n{tail}")
    assert job["state"] == "succeeded", job["errors"]
    assert job["progress"] == {
        "phase": "done",
        "done": ROWS,
        "total": ROWS,
        "percent": 100,
    }
    assert job["report"]["added"]["annotations"] == ROWS
    assert Annotation.objects.filter(source="imported").count() == ROWS
    assert Comparison.objects.count() == ROWS * K * (K - 1) // 2
    assert "queued" in seen
