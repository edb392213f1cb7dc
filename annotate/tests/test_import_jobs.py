"""Uploads imported as background jobs: the admin and the API answer at once, a worker
runs the import, and both show its progress and outcome.

The worker's part is `import_job_run` (the body of the `annotate.import_run` task),
run here in-process, eagerly; tests/test_import_worker.py runs it on a real worker.
"""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from kombu.exceptions import OperationalError
from rest_framework.test import APIClient

from annotate.importing import jobs, service
from annotate.importing.jobs import import_job_run, import_job_status
from annotate.models import Annotation, ImportJob, Prompt
from annotate.tasks import import_run

pytestmark = pytest.mark.django_db

PAIRS = b"".join(
    json.dumps({"prompt": f"Q{i}?", "chosen": "yes", "rejected": "no"}).encode() + b"\n"
    for i in range(5)
)


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    return client


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def upload(content: bytes = PAIRS, name: str = "pairs.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def test_admin_upload_queues_a_job_whose_page_shows_the_counts(
    superuser_client, make_project, var_dir, django_capture_on_commit_callbacks
):
    project = make_project(n_prompts=0, slug="imp")
    url = reverse("admin:annotate_project_import", args=[project.pk])
    change = superuser_client.get(
        reverse("admin:annotate_project_change", args=[project.pk])
    )
    assert url in change.content.decode()
    with django_capture_on_commit_callbacks() as queued:
        answer = superuser_client.post(url, {"file": upload(), "format": "auto"})
    job = ImportJob.objects.get()
    page = reverse("admin:annotate_project_import_job", args=[project.pk, job.pk])
    assert (answer.status_code, answer["Location"]) == (302, page)
    assert len(queued) == 1  # the task is sent once the job is committed
    assert (job.state, job.file_name) == ("queued", "pairs.jsonl")
    assert job.size_bytes == len(PAIRS)
    assert (var_dir / job.folder / "upload.jsonl").read_bytes() == PAIRS
    assert not Prompt.objects.exists()
    waiting = superuser_client.get(page).content.decode()
    assert "Queued" in waiting and "import_job.js" in waiting

    assert import_job_run(job_id=job.pk) == f"import {job.pk}: 5 rows"
    shown = superuser_client.get(page).content.decode()
    assert "annotations: 5 added, 0 already there" in shown
    assert "<script>" not in shown  # the page's script is a file (CSP)
    assert not (var_dir / job.folder).exists()  # the upload is gone once imported
    annotation = Annotation.objects.first()
    assert annotation.import_source == "trl · pairs.jsonl row 1"
    listing = superuser_client.get(url).content.decode()
    assert page in listing and "Imported" in listing
    detail = reverse("admin:annotate_annotation_change", args=[annotation.pk])
    assert "trl · pairs.jsonl row 1" in superuser_client.get(detail).content.decode()


def test_admin_status_poll_answers_state_and_rows(
    superuser_client, make_project, var_dir
):
    project = make_project(n_prompts=0, slug="imp")
    superuser_client.post(
        reverse("admin:annotate_project_import", args=[project.pk]),
        {"file": upload(), "format": "trl"},
    )
    job = ImportJob.objects.get()
    status_url = reverse(
        "admin:annotate_project_import_status", args=[project.pk, job.pk]
    )
    before = superuser_client.get(status_url).json()
    assert before["state"] == "queued" and before["progress"]["done"] == 0
    import_job_run(job_id=job.pk)
    after = superuser_client.get(status_url).json()
    assert after["progress"] == {"phase": "done", "done": 5, "total": 5, "percent": 100}
    assert after["summary"][0] == "5 rows read as trl"
    assert after["report"]["added"] == {
        "prompts": 5,
        "candidates": 10,
        "annotations": 5,
        "comparisons": 5,
    }


def test_admin_refuses_an_upload_over_the_byte_cap_before_reading_it(
    superuser_client, make_project, var_dir, settings
):
    project = make_project(n_prompts=0, slug="imp")
    settings.RANKWISE_IMPORT_MAX_BYTES = 100
    big = upload(PAIRS + b" " * (jobs.FORM_OVERHEAD_BYTES + 200))
    page = superuser_client.post(
        reverse("admin:annotate_project_import", args=[project.pk]),
        {"file": big, "format": "auto"},
    )
    assert page.status_code == 200
    assert "expected at most 100 (RANKWISE_IMPORT_MAX_BYTES)" in page.content.decode()
    # Within the form's overhead the body is read, and the file itself is refused.
    small_cap = superuser_client.post(
        reverse("admin:annotate_project_import", args=[project.pk]),
        {"file": upload(), "format": "auto"},
    )
    refusal = f"pairs.jsonl is {len(PAIRS)} bytes; expected at most 100"
    assert refusal in small_cap.content.decode()
    assert not ImportJob.objects.exists()
    assert not (var_dir / jobs.IMPORTS_FOLDER).exists() or not any(
        (var_dir / jobs.IMPORTS_FOLDER).iterdir()
    )


def test_an_accepted_admin_upload_still_needs_its_csrf_token(
    django_user_model, make_project, var_dir
):
    project = make_project(n_prompts=0, slug="imp")
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    url = reverse("admin:annotate_project_import", args=[project.pk])
    answer = client.post(url, {"file": upload(), "format": "auto"})
    assert answer.status_code == 403
    assert not ImportJob.objects.exists()


def test_admin_import_pages_need_the_lead_rule(
    client, django_user_model, make_project, var_dir
):
    project = make_project(n_prompts=0, slug="imp")
    job = jobs.import_job_create(project=project, upload=upload())
    staff = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(staff)
    for name, args in [
        ("admin:annotate_project_import", [project.pk]),
        ("admin:annotate_project_import_job", [project.pk, job.pk]),
        ("admin:annotate_project_import_status", [project.pk, job.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 403, name


def test_api_upload_answers_202_with_the_job_then_its_status(
    make_project, lead, var_dir, django_capture_on_commit_callbacks, monkeypatch
):
    project = make_project(n_prompts=0)
    sent = []
    monkeypatch.setattr(
        jobs.current_app,
        "send_task",
        lambda name, args, queue: (
            sent.append((name, args, queue)) or type("Result", (), {"id": "task-1"})()
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_as(lead).post(
            "/api/v1/imports/",
            {"project": project.pk, "format": "trl", "file": upload()},
            format="multipart",
        )
    assert answer.status_code == 202, answer.json()
    job = answer.json()
    assert answer["Location"] == f"/api/v1/imports/{job['id']}/"
    assert (job["state"], job["file_name"], job["format"]) == (
        "queued",
        "pairs.jsonl",
        "trl",
    )
    assert job["progress"] == {
        "phase": "queued",
        "done": 0,
        "total": None,
        "percent": None,
    }
    assert sent == [("annotate.import_run", [job["id"]], "default")]
    assert ImportJob.objects.get().task_id == "task-1"

    import_job_run(job_id=job["id"])
    done = api_as(lead).get(answer["Location"]).json()
    assert done["state"] == "succeeded" and done["errors"] == []
    assert done["progress"]["done"] == done["progress"]["total"] == 5
    assert done["report"]["added"]["annotations"] == 5
    listed = api_as(lead).get("/api/v1/imports/").json()
    assert [row["id"] for row in listed["results"]] == [job["id"]]


def test_a_broker_out_of_reach_fails_the_job_not_the_upload(
    make_project, lead, var_dir, django_capture_on_commit_callbacks, monkeypatch
):
    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379")

    monkeypatch.setattr(jobs.current_app, "send_task", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_as(lead).post(
            "/api/v1/imports/",
            {"project": make_project(n_prompts=0).pk, "file": upload()},
            format="multipart",
        )
    assert answer.status_code == 202
    job = api_as(lead).get(answer["Location"]).json()
    assert job["state"] == "failed"
    assert job["errors"] == [
        {
            "row": None,
            "message": "the task queue could not be reached (Error 111 connecting "
            "to redis:6379); nothing was imported: upload the file again",
        }
    ]
    assert not any((var_dir / jobs.IMPORTS_FOLDER).iterdir())


def test_api_upload_refusals(
    make_project, lead, annotator, django_user_model, var_dir, settings
):
    project = make_project(n_prompts=0, members=[annotator])
    body = {"project": project.pk, "file": upload()}
    forbidden = api_as(annotator).post("/api/v1/imports/", body, format="multipart")
    assert forbidden.status_code == 403
    settings.RANKWISE_IMPORT_MAX_BYTES = 100
    too_big = api_as(lead).post(
        "/api/v1/imports/",
        {"project": project.pk, "file": upload()},
        format="multipart",
    )
    assert too_big.status_code == 413
    assert too_big.json() == {
        "errors": {
            "file": f"pairs.jsonl is {len(PAIRS)} bytes; expected at most 100 "
            "(RANKWISE_IMPORT_MAX_BYTES)"
        }
    }
    no_file = api_as(lead).post(
        "/api/v1/imports/", {"project": project.pk}, format="multipart"
    )
    assert no_file.status_code == 400 and "file" in no_file.json()["errors"]
    assert not ImportJob.objects.exists()


def test_api_jobs_are_seen_by_their_projects_leads_only(
    make_project, lead, django_user_model, var_dir
):
    job = jobs.import_job_create(project=make_project(n_prompts=0), upload=upload())
    other = django_user_model.objects.create_user("other_lead")
    other_project = make_project(n_prompts=0, slug="other")
    other_project.membership_set.create(user=other, role="lead")
    answer = api_as(other).get(f"/api/v1/imports/{job.pk}/")
    assert answer.status_code == 404
    assert api_as(other).get("/api/v1/imports/").json()["results"] == []
    assert api_as(lead).get(f"/api/v1/imports/{job.pk}/").status_code == 200


def test_progress_is_readable_while_the_import_runs(make_project, var_dir, monkeypatch):
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    job = jobs.import_job_create(project=make_project(n_prompts=0), upload=upload())
    seen = []
    write = jobs._progress_write

    def spy(folder, phase, done, total):
        write(folder, phase, done, total)
        seen.append(import_job_status(job=ImportJob.objects.get())["progress"])

    monkeypatch.setattr(jobs, "_progress_write", spy)
    import_job_run(job_id=job.pk)
    assert [(p["phase"], p["done"], p["total"]) for p in seen] == [
        ("checking", 2, None),
        ("checking", 4, None),
        ("checking", 5, 5),
        ("writing", 2, 5),
        ("writing", 4, 5),
        ("writing", 5, 5),
    ]
    assert seen[-1]["percent"] == 100


def test_the_task_runs_a_job_once(make_project, var_dir):
    job = jobs.import_job_create(project=make_project(n_prompts=0), upload=upload())
    assert (import_run.name, import_run.queue) == ("annotate.import_run", "default")
    # Called in-process: the task's body, as a worker runs it, with no broker.
    assert import_run(job.pk) == f"import {job.pk}: 5 rows"
    job.refresh_from_db()
    finished = job.finished_at
    assert (job.state, job.rows_done) == ("succeeded", 5)
    # Delivered again (a worker died before acknowledging it): nothing happens.
    assert import_run(job.pk) == f"import {job.pk}: nothing to do"
    job.refresh_from_db()
    assert job.finished_at == finished and Annotation.objects.count() == 5


def test_a_job_whose_upload_is_gone_fails_saying_why(make_project, var_dir):
    job = jobs.import_job_create(project=make_project(n_prompts=0), upload=upload())
    for stored in (var_dir / job.folder).iterdir():
        stored.unlink()
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert "workers must share RANKWISE_VAR_DIR" in job.errors[0]["message"]


def test_an_unexpected_failure_is_recorded_on_the_job(
    make_project, var_dir, monkeypatch
):
    job = jobs.import_job_create(project=make_project(n_prompts=0), upload=upload())

    def outage(**kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(jobs, "import_file", outage)
    with pytest.raises(ConnectionError):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.errors == [
        {
            "row": None,
            "message": "the import failed (ConnectionError: database went away)",
        }
    ]


def test_the_command_reports_each_phase(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(PAIRS)
    seen = []
    report = service.import_file(
        path=path, project_slug="cli", progress=lambda *args: seen.append(args)
    )
    assert report.rows == 5
    assert seen == [("checking", 5, 5), ("writing", 5, 5)]
