"""Uploads imported as background jobs: stored, queued, run on a worker, watched.

The admin and the API keep the upload under RANKWISE_VAR_DIR/imports/ (shared by the
web processes and the workers) and answer at once with the ImportJob; a Celery
worker on the `default` queue runs `import_job_run` (annotate.tasks.import_run),
which imports through annotate.importing.service — the same checks and caps, all or
nothing — and records the outcome on the job. The import is one transaction, so its
progress cannot be seen in the job's row while it runs: the worker writes it to a
small file beside the upload, which `import_job_status` reads, and a heartbeat
(annotate.background) shows the worker is alive. The upload is deleted when the job
ends.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from celery import current_app
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from annotate import background
from annotate.importing import FORMATS, caps
from annotate.importing.outcome import ImportRejected, ImportReport, RowError
from annotate.importing.service import import_file
from annotate.models import ImportJob, Project
from annotate.text import clean_text

log = logging.getLogger(__name__)

JOB_TASK = "annotate.import_run"
IMPORTS_FOLDER = "imports"
# A multipart body is the file plus the form's other fields and boundaries.
FORM_OVERHEAD_BYTES = 64 * 1024
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,16}")  # what reading tells a file's kind by


def upload_refusal(*, content_length: str | None) -> str | None:
    """Why a request this long is refused before its body is read, or None."""
    length = int(content_length) if content_length and content_length.isdigit() else 0
    too_big = caps.bytes_error(max(0, length - FORM_OVERHEAD_BYTES))
    return f"The upload {too_big}." if too_big else None


@transaction.atomic
def import_job_create(
    *,
    project: Project,
    upload: UploadedFile,
    format: str = "auto",
    created_by: User | None = None,
) -> ImportJob:
    """Keep the upload and queue its import; ImportRejected past the byte cap."""
    name = clean_text(Path(upload.name or "").name)[:255] or "upload"
    if format not in FORMATS:
        raise ImportRejected.whole(
            f"unknown format {format!r}; expected one of {', '.join(FORMATS)}"
        )
    too_big = caps.bytes_error(upload.size or 0)
    if too_big:
        raise ImportRejected.whole(f"{name} {too_big}")
    folder = Path(IMPORTS_FOLDER) / uuid.uuid4().hex
    suffix = _SUFFIX.fullmatch(Path(name).suffix)
    stored = background.var_path(folder) / f"upload{suffix[0] if suffix else ''}"
    size = _store(upload, stored, name)
    try:
        job = ImportJob.objects.create(
            project=project,
            created_by=created_by,
            file_name=name,
            folder=str(folder),
            size_bytes=size,
            format=format,
        )
    except BaseException:
        shutil.rmtree(stored.parent, ignore_errors=True)
        raise
    transaction.on_commit(lambda: import_job_dispatch(job_id=job.pk))
    return job


def import_job_dispatch(*, job_id: int) -> None:
    """Queue the job on `default`, by task name: services never import tasks.

    Runs once the upload's transaction has committed: a broker that cannot be
    reached fails the job, saying so, rather than the answered request.
    """
    unqueued = background.job_send(
        current_app.send_task, ImportJob, job_id=job_id, task=JOB_TASK
    )
    if unqueued:
        job = ImportJob.objects.get(pk=job_id)
        _fail(job, unqueued)


def import_job_run(*, job_id: int) -> str:
    """Import a queued job's file and record how it ended; a finished job is kept.

    Safe to run again (a task redelivered after its worker died): the import is all
    or nothing, and keyed by content.
    """
    job = background.job_claim(ImportJob, job_id)
    if job is None:
        return f"import {job_id}: nothing to do"
    folder = background.var_path(Path(job.folder))
    stored = sorted(folder.glob("upload*"))
    if not stored:
        gone = RowError(
            None,
            f"the upload is not in {folder}: workers must share RANKWISE_VAR_DIR "
            "with the web processes",
        )
        _finish(job, ImportJob.State.FAILED, errors=[gone])
        return f"import {job_id}: upload missing"
    try:
        with background.heartbeat(folder):
            report = import_file(
                path=stored[0],
                project_slug=job.project.slug,
                format=job.format,
                source_name=job.file_name,
                progress=lambda phase, done, total: _progress_write(
                    folder, phase, done, total
                ),
            )
    except ImportRejected as rejected:
        _finish(job, ImportJob.State.FAILED, errors=rejected.errors)
        return f"import {job_id}: rejected"
    except Exception as err:
        log.exception("import %s failed", job_id)
        failure = RowError(None, f"the import failed ({type(err).__name__}: {err})")
        _finish(job, ImportJob.State.FAILED, errors=[failure])
        raise
    job.report = report.as_json()
    job.rows_total = job.rows_done = report.rows
    _finish(job, ImportJob.State.SUCCEEDED)
    return f"import {job_id}: {report.rows} rows"


def import_job_status(*, job: ImportJob) -> dict[str, Any]:
    """What the admin's job page and the API show: state, progress, outcome."""
    return {
        "id": job.pk,
        "project": job.project_id,
        "file_name": job.file_name,
        "size_bytes": job.size_bytes,
        "format": job.format,
        "state": job.state,
        "state_label": job.get_state_display(),
        "progress": _progress(job),
        "report": job.report or None,
        "summary": ImportReport.from_json(job.report).lines() if job.report else [],
        "errors": job.errors,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def import_jobs_reap_stale() -> int:
    """Fail the imports whose worker stopped beating; how many were."""
    return background.job_reap_stale(ImportJob, fail=_fail)


def _fail(job: ImportJob, why: str) -> None:
    """A failure of the job as a whole: nothing was imported."""
    whole = RowError(None, f"{why}; nothing was imported: upload the file again")
    _finish(job, ImportJob.State.FAILED, [whole])


def _store(upload: UploadedFile, path: Path, name: str) -> int:
    """Copy the upload chunk by chunk, counting bytes against the cap; its size."""
    path.parent.mkdir(parents=True)
    size = 0
    try:
        with path.open("wb") as file:
            for chunk in upload.chunks():
                size += len(chunk)
                too_big = caps.bytes_error(size)
                if too_big:
                    raise ImportRejected.whole(f"{name} {too_big}")
                file.write(chunk)
    except BaseException:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
    return size


def _finish(job: ImportJob, state: str, errors: list[RowError] | None = None) -> None:
    job.state = state
    job.errors = [error.as_json() for error in errors or []]
    job.finished_at = timezone.now()
    job.save()
    shutil.rmtree(background.var_path(Path(job.folder)), ignore_errors=True)


def _progress_write(folder: Path, phase: str, done: int, total: int | None) -> None:
    """The import's progress callback: rows done of the phase, for the job's page."""
    background.progress_write(folder, phase=phase, done=done, total=total)


def _progress(job: ImportJob) -> dict[str, Any]:
    """Rows done of the phase under way (checking, then writing) and of how many."""
    if job.state == ImportJob.State.RUNNING:
        written = background.progress_read(background.var_path(job.folder))
        progress = written or {"phase": "checking", "done": 0, "total": None}
    else:
        finished = job.state == ImportJob.State.SUCCEEDED
        progress = {
            "phase": "done" if finished else job.state,
            "done": job.rows_done,
            "total": job.rows_total,
        }
    progress["percent"] = background.percent(progress["done"], progress["total"])
    return progress
