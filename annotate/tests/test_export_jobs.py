"""Exports as background jobs: the export page and the API answer at once, a worker
writes the file, both show its progress, then the file is downloaded; files expire.

The worker's part is `export_job_run` (the body of the `annotate.export_run` task),
run here in-process, eagerly, as test_import_jobs.py runs imports.
"""

import io
import json
import os
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from annotate.exporting import ExportOptions, FileType, jobs
from annotate.exporting.jobs import export_job_run, export_job_status
from annotate.models import ExportJob
from annotate.services import assignment_next
from annotate.tasks import export_run
from api.tests.test_api_permissions import submit_ranked

pytestmark = pytest.mark.django_db

FORM = {
    "delivery": "job",
    "format": "pairs",
    "style": "standard",
    "file_type": "jsonl",
    "source": "all",
    "min_agreement": "0",
    "ties": "drop",
    "include_card": "on",
}


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def sent(monkeypatch) -> list:
    """Tasks sent to the broker, which is not there: (name, args, queue)."""
    calls: list = []

    def send_task(name, args, queue):
        calls.append((name, args, queue))
        return type("Result", (), {"id": f"task-{len(calls)}"})()

    monkeypatch.setattr(jobs.current_app, "send_task", send_task)
    return calls


@pytest.fixture
def judged(make_project, annotator):
    """Four prompts ranked by the annotator (K=4: 6 pairs each)."""
    project = make_project(k=4, n_prompts=4, members=[annotator])
    for _ in range(4):
        submit_ranked(assignment_next(project=project, annotator=annotator), annotator)
    return project


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def jsonl_rows(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.splitlines() if line]


def test_api_job_answers_202_then_progress_then_the_same_file_as_a_stream(
    judged, lead, var_dir, sent, django_capture_on_commit_callbacks
):
    body = {"project": judged.pk, "format": "pairs"}
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_as(lead).post(
            "/api/v1/exports/", {**body, "delivery": "job"}, format="json"
        )
    assert answer.status_code == 202, answer.json()
    job = answer.json()
    assert answer["Location"] == f"/api/v1/exports/{job['id']}/"
    assert (job["state"], job["file_type"], job["download"]) == (
        "queued",
        "jsonl",
        None,
    )
    assert job["options"]["format"] == "pairs"
    assert job["progress"] == {
        "phase": "queued",
        "done": 0,
        "rows": 0,
        "total": 4,
        "percent": 0,
    }
    assert sent == [("annotate.export_run", [job["id"]], "default")]
    assert ExportJob.objects.get().task_id == "task-1"
    early = api_as(lead).get(f"/api/v1/exports/{job['id']}/download/")
    assert early.status_code == 409
    assert early.json()["errors"]["state"].startswith(f"export {job['id']} is queued")

    assert export_job_run(job_id=job["id"]) == f"export {job['id']}: 24 rows"
    done = api_as(lead).get(answer["Location"]).json()
    assert done["state"] == "succeeded" and done["error"] is None
    assert done["progress"] == {
        "phase": "done",
        "done": 4,
        "rows": 24,
        "total": 4,
        "percent": 100,
    }
    assert done["download"] == f"/api/v1/exports/{job['id']}/download/"
    stored = var_dir / ExportJob.objects.get().folder / done["file_name"]
    assert done["size_bytes"] == stored.stat().st_size
    file = api_as(lead).get(done["download"])
    assert file.status_code == 200 and file["Content-Type"] == "application/x-ndjson"
    assert done["file_name"] in file["Content-Disposition"]
    rows = jsonl_rows(b"".join(file.streaming_content))
    streamed = api_as(lead).post("/api/v1/exports/", body, format="json")
    assert rows == jsonl_rows(b"".join(streamed.streaming_content))
    assert len(rows) == 24
    listed = api_as(lead).get("/api/v1/exports/").json()
    assert [row["id"] for row in listed["results"]] == [job["id"]]


def test_api_job_refusals_and_who_sees_a_job(judged, lead, annotator, var_dir, sent):
    refused = api_as(lead).post(
        "/api/v1/exports/",
        {"project": judged.pk, "format": "pairs", "rounds": [7], "delivery": "job"},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "rounds": "project 'tests' has no round 7; its rounds: none yet"
    }
    body = {"project": judged.pk, "format": "raw", "delivery": "job"}
    forbidden = api_as(annotator).post("/api/v1/exports/", body, format="json")
    assert forbidden.status_code == 403
    assert not ExportJob.objects.exists()
    job_id = api_as(lead).post("/api/v1/exports/", body, format="json").json()["id"]
    for path in (f"/api/v1/exports/{job_id}/", f"/api/v1/exports/{job_id}/download/"):
        assert api_as(annotator).get(path).status_code == 404
    assert api_as(annotator).get("/api/v1/exports/").json()["results"] == []


def test_deleting_a_job_deletes_its_file(judged, lead, var_dir, sent):
    body = {"project": judged.pk, "format": "rankings", "delivery": "job"}
    job_id = api_as(lead).post("/api/v1/exports/", body, format="json").json()["id"]
    export_job_run(job_id=job_id)
    folder = var_dir / ExportJob.objects.get().folder
    assert [path.suffix for path in folder.iterdir()] == [".jsonl"]
    assert api_as(lead).delete(f"/api/v1/exports/{job_id}/").status_code == 204
    assert not ExportJob.objects.exists() and not folder.exists()


def test_the_export_page_starts_a_job_whose_page_shows_progress_then_the_zip(
    judged, lead, client, var_dir, sent, django_capture_on_commit_callbacks
):
    client.force_login(lead)
    export_url = reverse("annotate:project_export", args=[judged.slug])
    form = client.get(export_url).content.decode()
    assert 'name="delivery" value="job"' in form
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(export_url, FORM)
    job = ExportJob.objects.get()
    page = reverse("annotate:project_export_job", args=[judged.slug, job.pk])
    assert (answer.status_code, answer["Location"]) == (302, page)
    assert (job.requested_by, job.with_card, len(sent)) == (lead, True, 1)
    waiting = client.get(page).content.decode()
    assert "Queued" in waiting and "export_job.js" in waiting
    assert "<script>" not in waiting  # the page's script is a file (CSP)
    status_url = reverse(
        "annotate:project_export_job_status", args=[judged.slug, job.pk]
    )
    assert client.get(status_url).json()["progress"]["done"] == 0

    export_job_run(job_id=job.pk)
    status = client.get(status_url).json()
    assert (status["state"], status["progress"]["rows"]) == ("succeeded", 24)
    ready = client.get(page).content.decode()
    file_url = reverse("annotate:project_export_file", args=[judged.slug, job.pk])
    assert "Ready to download" in ready and file_url in ready
    download = client.get(file_url)
    assert download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    data = next(name for name in archive.namelist() if name.endswith(".jsonl"))
    assert len(jsonl_rows(archive.read(data))) == 24
    assert "README.md" in archive.namelist()
    assert page in client.get(export_url).content.decode()  # listed under the form


def test_export_job_pages_need_the_lead_rule(judged, lead, annotator, client, var_dir):
    job = jobs.export_job_create(
        project=judged, options=ExportOptions("pairs"), file_type=FileType.JSONL
    )
    client.force_login(annotator)
    for name in ("project_export_job", "project_export_job_status"):
        url = reverse(f"annotate:{name}", args=[judged.slug, job.pk])
        assert client.get(url).status_code == 403
    client.force_login(lead)
    not_ready = reverse("annotate:project_export_file", args=[judged.slug, job.pk])
    assert client.get(not_ready).status_code == 409


def test_the_task_runs_a_job_once_and_progress_is_readable_meanwhile(
    judged, var_dir, monkeypatch
):
    job = jobs.export_job_create(
        project=judged, options=ExportOptions("pairs"), file_type=FileType.PARQUET
    )
    assert (export_run.name, export_run.queue) == ("annotate.export_run", "default")
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_SECONDS", 0)
    seen = []
    write = jobs.background.progress_write

    def spy(folder, **progress):
        write(folder, **progress)
        seen.append(export_job_status(job=ExportJob.objects.get())["progress"])

    monkeypatch.setattr(jobs.background, "progress_write", spy)
    assert export_run(job.pk) == f"export {job.pk}: 24 rows"
    assert [(p["phase"], p["done"], p["rows"], p["percent"]) for p in seen] == [
        ("writing", 1, 6, 25),
        ("writing", 2, 12, 50),
        ("writing", 3, 18, 75),
        ("writing", 4, 24, 100),
    ]
    job.refresh_from_db()
    finished = job.finished_at
    assert (job.state, job.rows, job.content_type) == (
        "succeeded",
        24,
        "application/vnd.apache.parquet",
    )
    # Delivered again (a worker died before acknowledging it): nothing happens.
    assert export_run(job.pk) == f"export {job.pk}: nothing to do"
    job.refresh_from_db()
    assert job.finished_at == finished


def test_a_broker_out_of_reach_fails_the_job(
    judged, var_dir, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379")

    monkeypatch.setattr(jobs.current_app, "send_task", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.export_job_create(
            project=judged, options=ExportOptions("pairs"), file_type=FileType.JSONL
        )
    job.refresh_from_db()
    assert (job.state, job.error) == (
        "failed",
        "the task queue could not be reached (Error 111 connecting to redis:6379)",
    )


def test_files_are_deleted_after_the_retention_period(judged, var_dir, settings):
    settings.RANKWISE_EXPORT_RETENTION_HOURS = 24
    old, fresh = (
        jobs.export_job_create(
            project=judged, options=ExportOptions("pairs"), file_type=FileType.JSONL
        )
        for _ in range(2)
    )
    for job in (old, fresh):
        export_job_run(job_id=job.pk)
    ExportJob.objects.filter(pk=old.pk).update(
        finished_at=timezone.now() - timedelta(hours=25)
    )
    orphan = var_dir / jobs.EXPORTS_FOLDER / "0123abcd"  # its project was deleted
    orphan.mkdir()
    assert jobs.export_jobs_prune() == 1
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert sorted(path.name for path in (var_dir / jobs.EXPORTS_FOLDER).iterdir()) == [
        Path(fresh.folder).name
    ]
    expires = export_job_status(job=ExportJob.objects.get())["expires_at"]
    assert expires == ExportJob.objects.get().finished_at + timedelta(hours=24)


def test_a_running_export_whose_worker_died_is_failed(judged, var_dir, settings):
    settings.RANKWISE_RUN_STALE_AFTER_SECONDS = 60
    dead, alive = (
        jobs.export_job_create(
            project=judged, options=ExportOptions("pairs"), file_type=FileType.JSONL
        )
        for _ in range(2)
    )
    for job, silent_for in ((dead, 300), (alive, 10)):
        folder = var_dir / job.folder
        folder.mkdir(parents=True)
        beat = folder / jobs.background.HEARTBEAT_FILE
        beat.touch()
        then = time.time() - silent_for
        os.utime(beat, (then, then))
    ExportJob.objects.update(state="running", started_at=timezone.now())
    assert jobs.export_jobs_reap_stale() == 1
    dead.refresh_from_db()
    assert dead.state == "failed"
    assert re.match(
        r"the worker stopped responding: no heartbeat for 30\d s", dead.error
    )
    assert not (var_dir / dead.folder).exists()
    assert ExportJob.objects.get(pk=alive.pk).state == "running"


def test_the_admin_lists_export_jobs_and_deleting_one_deletes_its_file(
    judged, var_dir, django_user_model
):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    job = jobs.export_job_create(
        project=judged, options=ExportOptions("rankings"), file_type=FileType.JSONL
    )
    export_job_run(job_id=job.pk)
    job.refresh_from_db()
    listing = client.get(reverse("admin:annotate_exportjob_changelist"))
    assert listing.status_code == 200
    assert "Ready to download" in listing.content.decode()
    folder = var_dir / job.folder
    assert (folder / job.file_name).is_file()
    deleted = client.post(
        reverse("admin:annotate_exportjob_changelist"),
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
    )
    assert deleted.status_code == 302
    assert not ExportJob.objects.exists() and not folder.exists()


def test_a_jobs_options_are_read_back_as_they_were_asked(judged, annotator, var_dir):
    options = ExportOptions(
        "pairs",
        style="conversational",
        annotators=(annotator.username,),
        ties="split",
        margin="rank-gap",
        exclude_rejected=False,
    )
    job = jobs.export_job_create(
        project=judged, options=options, file_type=FileType.JSONL
    )
    stored = ExportJob.objects.get(pk=job.pk).options  # through the JSON column
    assert stored["annotators"] == ["ada_annotator"] and stored["ties"] == "split"
    assert ExportOptions.from_values(stored) == options


def test_an_export_failed_for_lost_while_it_ran_stays_failed(
    judged, var_dir, monkeypatch
):
    job = jobs.export_job_create(
        project=judged, options=ExportOptions("pairs"), file_type=FileType.JSONL
    )
    download = jobs.export_download

    def slow_worker(**kwargs):
        # The worker stalls long enough for a page to judge it dead.
        ExportJob.objects.filter(pk=job.pk).update(state="failed", error="lost")
        return download(**kwargs)

    monkeypatch.setattr(jobs, "export_download", slow_worker)
    assert (
        export_job_run(job_id=job.pk) == f"export {job.pk}: given up for lost meanwhile"
    )
    job.refresh_from_db()
    assert (job.state, job.error, job.file_name) == ("failed", "lost", "")
    assert not (var_dir / job.folder).exists()
