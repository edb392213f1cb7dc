"""What import and export jobs share: queueing, claiming, progress, heartbeat, reaping.

An ImportJob or ExportJob keeps its files in a folder under RANKWISE_VAR_DIR that the
web processes and the workers share. While a worker runs the job it writes the
job's progress to a file there, and a heartbeat thread touches another file every
RANKWISE_RUN_HEARTBEAT_SECONDS. Both live on disk, not in the job's row, because an
import is one transaction: on SQLite, a second connection's write to the row would
wait for that transaction to end. A worker that dies mid-job (killed, out of memory,
past its time limit) stops beating; `job_reap_stale` (called by the job pages, the
API's job reads and a worker as it starts, like training's `runs_reap_stale`) marks
such a job failed once its heartbeat is older than RANKWISE_RUN_STALE_AFTER_SECONDS.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotate.models import ExportJob, ImportJob

log = logging.getLogger(__name__)

JOB_QUEUE = "default"
PROGRESS_FILE = "progress.json"
HEARTBEAT_FILE = "heartbeat"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"  # both models' states

Job = TypeVar("Job", ImportJob, ExportJob)


def var_path(folder: str | Path) -> Path:
    """A job's folder (stored relative to the var folder) as a path here."""
    return Path(settings.VAR_DIR) / folder


def job_send(
    send_task: Callable[..., Any],
    model: type[ImportJob | ExportJob],
    *,
    job_id: int,
    task: str,
) -> str | None:
    """Queue the job's task by name (services never import tasks); why not, or None.

    `send_task` is the Celery app's; a broker out of reach is the job's failure,
    which the caller records, never the answered request's.
    """
    try:
        result = send_task(task, args=[job_id], queue=JOB_QUEUE)
    except (BrokerUnreachable, OSError) as err:
        log.exception("%s %s could not be queued", model.__name__, job_id)
        return f"the task queue could not be reached ({err})"
    model.objects.filter(pk=job_id).update(task_id=result.id or "")
    return None


@transaction.atomic
def job_claim(model: type[Job], job_id: int) -> Job | None:
    """The job marked running, unless it is gone or already finished."""
    job = (
        model.objects.select_for_update()
        .select_related("project")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.state in (SUCCEEDED, FAILED):
        return None
    job.state = RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["state", "started_at"])
    return job


def progress_write(folder: Path, **progress: Any) -> None:
    """Replace the progress file whole, so a reader never sees half of one."""
    partial = folder / f".{PROGRESS_FILE}.tmp"
    partial.write_text(json.dumps(progress))
    os.replace(partial, folder / PROGRESS_FILE)


def progress_read(folder: Path) -> dict[str, Any] | None:
    """What the worker last wrote, or None before its first write."""
    try:
        return json.loads((folder / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


def progress_clear(folder: Path) -> None:
    """Remove the progress and heartbeat files of a job that ended, keeping its own."""
    for name in (PROGRESS_FILE, HEARTBEAT_FILE):
        (folder / name).unlink(missing_ok=True)


def percent(done: int, total: int | None) -> int | None:
    return round(100 * done / total) if total else None


@contextmanager
def heartbeat(folder: Path) -> Iterator[None]:
    """Touch the job's heartbeat file every few seconds while the block runs."""
    beat_file = folder / HEARTBEAT_FILE
    beat_file.touch()
    stopping = threading.Event()

    def beat() -> None:
        while not stopping.wait(settings.RANKWISE_RUN_HEARTBEAT_SECONDS):
            try:
                beat_file.touch()
            except OSError:  # the folder went with a reaped job; the job notices
                return

    thread = threading.Thread(target=beat, daemon=True, name="job-heartbeat")
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join()


def job_reap_stale(model: type[Job], *, fail: Callable[[Job, str], None]) -> int:
    """Fail the running jobs whose heartbeat went silent; how many were.

    `fail(job, why)` records the failure as the job's kind does and removes its
    files; it runs with the job's row locked and still running.
    """
    reaped = 0
    running = model.objects.filter(state=RUNNING)
    for job in running.only("pk", "folder", "started_at"):
        if _last_sign_of_life(job) >= _stale_before():
            continue
        with transaction.atomic():
            locked = running.select_for_update().filter(pk=job.pk).first()
            if locked is None:
                continue  # it ended meanwhile
            last = _last_sign_of_life(locked)
            if last >= _stale_before():
                continue  # it beat again meanwhile
            silent = (timezone.now() - last).total_seconds()
            fail(
                locked,
                f"the worker stopped responding: no heartbeat for {silent:.0f} s "
                f"(since {last:%H:%M:%S} UTC)",
            )
            reaped += 1
    return reaped


def _stale_before() -> datetime:
    """Heartbeats older than this mean the job's worker is gone."""
    return timezone.now() - timedelta(seconds=settings.RANKWISE_RUN_STALE_AFTER_SECONDS)


def _last_sign_of_life(job: ImportJob | ExportJob) -> datetime:
    """The heartbeat file's time, or the claim's before the first beat."""
    try:
        mtime = (var_path(job.folder) / HEARTBEAT_FILE).stat().st_mtime
    except OSError:
        return job.started_at or timezone.now()
    return datetime.fromtimestamp(mtime, tz=UTC)
