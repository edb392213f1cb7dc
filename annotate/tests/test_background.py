"""What import and export jobs share (annotate.background): the heartbeat a running
job keeps, and the reaper that fails a job whose worker died."""

import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotate import background
from annotate.importing import jobs as import_jobs
from annotate.models import ImportJob

pytestmark = pytest.mark.django_db

PAIRS = b'{"prompt": "Q?", "chosen": "yes", "rejected": "no"}\n'


@pytest.fixture
def var_dir(settings, tmp_path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    settings.RANKWISE_RUN_STALE_AFTER_SECONDS = 60
    return settings.VAR_DIR


def running_import(project, *, silent_for: float | None) -> ImportJob:
    """An import a worker claimed; its heartbeat `silent_for` seconds old (None:
    it never beat)."""
    job = import_jobs.import_job_create(
        project=project, upload=SimpleUploadedFile("pairs.jsonl", PAIRS)
    )
    claimed = background.job_claim(ImportJob, job.pk)
    assert claimed is not None
    if silent_for is not None:
        beat = background.var_path(claimed.folder) / background.HEARTBEAT_FILE
        beat.touch()
        then = time.time() - silent_for
        os.utime(beat, (then, then))
    return claimed


def test_the_heartbeat_touches_its_file_while_the_block_runs(tmp_path, settings):
    settings.RANKWISE_RUN_HEARTBEAT_SECONDS = 0.05
    beat = tmp_path / background.HEARTBEAT_FILE
    with background.heartbeat(tmp_path):
        first = beat.stat().st_mtime_ns
        time.sleep(0.3)
        assert beat.stat().st_mtime_ns > first
    stopped = beat.stat().st_mtime_ns
    time.sleep(0.2)
    assert beat.stat().st_mtime_ns == stopped  # the thread ended with the block


def test_an_import_whose_worker_died_fails_saying_so(
    make_project, lead, var_dir, client: Client
):
    project = make_project(n_prompts=0)
    dead = running_import(project, silent_for=600)
    alive = running_import(project, silent_for=5)
    # Claimed 10 minutes ago and never beat: the claim's time counts.
    never = running_import(project, silent_for=None)
    ImportJob.objects.filter(pk=never.pk).update(
        started_at=timezone.now() - timedelta(minutes=10)
    )
    api = APIClient()
    api.force_authenticate(lead)
    shown = api.get(f"/api/v1/imports/{dead.pk}/").json()  # reading reaps
    assert shown["state"] == "failed"
    [error] = shown["errors"]
    assert error["row"] is None
    assert re.fullmatch(
        r"the worker stopped responding: no heartbeat for 60[01] s "
        r"\(since \d\d:\d\d:\d\d UTC\); nothing was imported: upload the file again",
        error["message"],
    )
    assert not background.var_path(dead.folder).exists()  # the upload is gone
    states = dict(ImportJob.objects.values_list("pk", "state"))
    assert states == {dead.pk: "failed", alive.pk: "running", never.pk: "failed"}
    assert import_jobs.import_jobs_reap_stale() == 0  # nothing left to reap


def test_the_admin_job_page_reaps_too(make_project, var_dir, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    project = make_project(n_prompts=0)
    dead = running_import(project, silent_for=600)
    status = client.get(
        reverse("admin:annotate_project_import_status", args=[project.pk, dead.pk])
    ).json()
    assert status["state"] == "failed"
    assert status["progress"]["phase"] == "failed"
