"""An export job written by a real Celery worker process, as `make run` runs one.

`POST /api/v1/exports/` with `delivery: job` answers 202 at once; a `celery worker
--queues default` started here (tests/test_import_worker.py's) takes the task from
the broker, writes the file under the var folder, and the job's API answers show its
progress end in a file to download, which holds every pair.
"""

from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from annotate.importing.service import import_file
from tests.test_import_worker import worker  # noqa: F401 (the worker fixture)

ROWS = 300
K = 4
pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]


def test_an_export_job_is_written_by_the_worker(make_project, lead, tmp_path):
    project = make_project(n_prompts=0)
    ranked = tmp_path / "ranked.jsonl"
    ranked.write_text(
        "".join(
            json.dumps(
                {
                    "prompt": f"Question {i}?",
                    "completions": [f"Answer {c} to {i}" for c in range(K)],
                    "ranks": list(range(1, K + 1)),
                }
            )
            + "\n"
            for i in range(ROWS)
        )
    )
    import_file(path=ranked, project_slug=project.slug)
    client = APIClient()
    client.force_authenticate(lead)
    body = {"project": project.pk, "format": "pairs", "delivery": "job"}
    answer = client.post("/api/v1/exports/", body, format="json")
    assert answer.status_code == 202, answer.json()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = client.get(answer["Location"]).json()
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the worker did not finish the export: {job}")
    assert job["state"] == "succeeded", job["error"]
    pairs = ROWS * K * (K - 1) // 2
    assert job["progress"] == {
        "phase": "done",
        "done": ROWS,
        "rows": pairs,
        "total": ROWS,
        "percent": 100,
    }
    file = client.get(job["download"])
    lines = b"".join(file.streaming_content).splitlines()
    assert len(lines) == pairs
    assert {json.loads(line)["source"] for line in lines} == {"imported"}
