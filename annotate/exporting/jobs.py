"""Exports written by a worker to a file the lead downloads, instead of in a request.

A large export outlives any web request (a million pairs take minutes; gunicorn cuts
a request off at its timeout), so the export page and `POST /api/v1/exports/` with
`delivery: job` create an ExportJob and answer at once. A Celery worker on the
`default` queue runs `export_job_run` (annotate.tasks.export_run), which writes what
`export_download` would have streamed (the file, or the .zip with its dataset card)
to RANKWISE_VAR_DIR/exports/<job>/, reporting annotations read and rows written as it
goes; then the file is downloaded from the job's page or the API. Finished jobs and
their files are deleted RANKWISE_EXPORT_RETENTION_HOURS after they end, or with the
job. The queue, the claim, the progress file and the heartbeat are shared with
import jobs (annotate.background).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from annotate import background
from annotate.exporting.options import ExportError, ExportOptions, FileType
from annotate.exporting.services import (
    CONTENT_TYPES,
    export_annotation_count,
    export_download,
)
from annotate.exporting.writers import atomic_path
from annotate.models import ExportJob, Project

log = logging.getLogger(__name__)

JOB_TASK = "annotate.export_run"
EXPORTS_FOLDER = "exports"
DEFAULT_RETENTION_HOURS = 24
PROGRESS_EVERY_SECONDS = 0.5  # a progress file per prompt would slow big exports


@transaction.atomic
def export_job_create(
    *,
    project: Project,
    options: ExportOptions,
    file_type: FileType,
    with_card: bool = False,
    requested_by: User | None = None,
) -> ExportJob:
    """Queue an export; ExportError (naming the option) before anything is queued."""
    if file_type not in CONTENT_TYPES:
        raise ExportError(
            f"file_type: {file_type!r} cannot be downloaded; expected "
            f"{' or '.join(CONTENT_TYPES)}"
        )
    total = export_annotation_count(project=project, options=options)
    export_jobs_prune()
    job = ExportJob.objects.create(
        project=project,
        requested_by=requested_by,
        options=_options_json(options),
        file_type=file_type,
        with_card=with_card,
        folder=str(Path(EXPORTS_FOLDER) / uuid.uuid4().hex),
        annotations_total=total,
    )
    transaction.on_commit(lambda: export_job_dispatch(job_id=job.pk))
    return job


def export_job_dispatch(*, job_id: int) -> None:
    """Queue the job on `default` once it is committed; an unreachable broker fails
    the job, saying so."""
    unqueued = background.job_send(
        current_app.send_task, ExportJob, job_id=job_id, task=JOB_TASK
    )
    if unqueued:
        _fail(ExportJob.objects.get(pk=job_id), unqueued)


def export_job_run(*, job_id: int) -> str:
    """Write a queued job's export to its file; a finished job is left as it is."""
    job = background.job_claim(ExportJob, job_id)
    if job is None:
        return f"export {job_id}: nothing to do"
    folder = background.var_path(job.folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with background.heartbeat(folder):
            written = _write(job, folder)
    except ExportError as err:  # the data changed since the job was created
        _fail(job, str(err))
        return f"export {job_id}: refused"
    except Exception as err:
        log.exception("export %s failed", job_id)
        _fail(job, f"the export failed ({type(err).__name__}: {err})")
        raise
    background.progress_clear(folder)
    ended = ExportJob.objects.filter(pk=job.pk, state=ExportJob.State.RUNNING).update(
        state=ExportJob.State.SUCCEEDED,
        finished_at=timezone.now(),
        file_name=job.file_name,
        content_type=job.content_type,
        size_bytes=job.size_bytes,
        annotations_done=job.annotations_done,
        rows=job.rows,
    )
    if not ended:  # failed meanwhile for a stale heartbeat: it stays failed
        shutil.rmtree(folder, ignore_errors=True)
        return f"export {job_id}: given up for lost meanwhile"
    return f"export {job_id}: {written.rows} rows"


def export_job_status(*, job: ExportJob) -> dict[str, Any]:
    """What the job's page and the API show: state, progress, the file when ready."""
    return {
        "id": job.pk,
        "project": job.project_id,
        "state": job.state,
        "state_label": job.get_state_display(),
        "options": job.options,
        "file_type": job.file_type,
        "with_card": job.with_card,
        "progress": _progress(job),
        "file_name": job.file_name or None,
        "size_bytes": job.size_bytes,
        "error": job.error or None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": _expires_at(job),
    }


def export_job_file(*, job: ExportJob) -> Path:
    """The finished export's file; ExportError saying why there is none."""
    if job.state != ExportJob.State.SUCCEEDED:
        raise ExportError(
            f"export {job.pk} is {job.get_state_display().lower()}; its file can "
            "be downloaded once it is ready"
        )
    path = background.var_path(job.folder) / job.file_name
    if not path.is_file():
        raise ExportError(
            f"export {job.pk}'s file is not in {path.parent}: workers must share "
            "RANKWISE_VAR_DIR with the web processes"
        )
    return path


def export_job_delete(*, job: ExportJob) -> None:
    """Delete the job and its file."""
    folder = background.var_path(job.folder)
    job.delete()
    shutil.rmtree(folder, ignore_errors=True)


def export_jobs_prune() -> int:
    """Delete the exports that ended more than the retention period ago, and files
    no job names any more (their project was deleted); how many jobs went."""
    cutoff = timezone.now() - _retention()
    expired = list(ExportJob.objects.filter(finished_at__lt=cutoff))
    for job in expired:
        export_job_delete(job=job)
    root = background.var_path(EXPORTS_FOLDER)
    if root.is_dir():
        named = set(ExportJob.objects.values_list("folder", flat=True))
        for folder in root.iterdir():
            if str(Path(EXPORTS_FOLDER) / folder.name) not in named:
                shutil.rmtree(folder, ignore_errors=True)
    return len(expired)


def export_jobs_reap_stale() -> int:
    """Fail the exports whose worker stopped beating; how many were."""
    return background.job_reap_stale(ExportJob, fail=_fail)


@dataclasses.dataclass
class _Written:
    """What the export has read and written so far, for its progress file."""

    annotations: int = 0
    rows: int = 0
    reported_at: float = 0.0


def _write(job: ExportJob, folder: Path) -> _Written:
    written = _Written()

    def progress(annotations: int, rows: int) -> None:
        written.annotations, written.rows = annotations, rows
        now = time.monotonic()
        if now - written.reported_at >= PROGRESS_EVERY_SECONDS:
            written.reported_at = now
            background.progress_write(folder, done=annotations, rows=rows)

    download = export_download(
        project=job.project,
        options=ExportOptions.from_values(job.options),
        file_type=FileType(job.file_type),
        with_card=job.with_card,
        progress=progress,
    )
    path = folder / download.filename
    size = 0
    with atomic_path(path) as partial, partial.open("wb") as file:
        for chunk in download.chunks:
            file.write(chunk)
            size += len(chunk)
    job.file_name, job.content_type, job.size_bytes = (
        download.filename,
        download.content_type,
        size,
    )
    job.annotations_done, job.rows = written.annotations, written.rows
    return written


def _fail(job: ExportJob, why: str) -> None:
    job.state = ExportJob.State.FAILED
    job.error = why
    job.finished_at = timezone.now()
    job.save()
    shutil.rmtree(background.var_path(job.folder), ignore_errors=True)


def _progress(job: ExportJob) -> dict[str, Any]:
    """Annotations read of how many, and rows written so far."""
    progress = {"done": job.annotations_done, "rows": job.rows}
    if job.state == ExportJob.State.RUNNING:
        progress = background.progress_read(background.var_path(job.folder)) or {
            "done": 0,
            "rows": 0,
        }
    phases = {ExportJob.State.RUNNING: "writing", ExportJob.State.SUCCEEDED: "done"}
    finished = job.state == ExportJob.State.SUCCEEDED
    total = job.annotations_total
    return {
        "phase": phases.get(ExportJob.State(job.state), job.state),
        **progress,
        "total": total,
        "percent": 100 if finished else background.percent(progress["done"], total),
    }


def _options_json(options: ExportOptions) -> dict[str, Any]:
    """The options as JSON that ExportOptions.from_values reads back."""
    return {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(options).items()
    }


def export_retention_hours() -> float:
    """How long a finished export and its file are kept."""
    hours = getattr(
        settings, "RANKWISE_EXPORT_RETENTION_HOURS", DEFAULT_RETENTION_HOURS
    )
    return float(hours)


def _retention() -> timedelta:
    return timedelta(hours=export_retention_hours())


def _expires_at(job: ExportJob) -> datetime | None:
    return job.finished_at + _retention() if job.finished_at else None
