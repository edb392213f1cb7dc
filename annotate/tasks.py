"""Celery tasks of the collection side: thin wrappers over its services."""

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from annotate.exporting.jobs import (
    export_job_run,
    export_jobs_prune,
    export_jobs_reap_stale,
)
from annotate.importing.jobs import import_job_run, import_jobs_reap_stale


@shared_task(name="rankwise.ping", queue="default", time_limit=10)
def ping() -> str:
    """Answers 'pong': shows a worker is up and reading the queue."""
    return "pong"


@shared_task(
    name="annotate.import_run",
    queue="default",
    acks_late=True,
    # No automatic retry: a failed import wrote nothing, and says why on its job.
    max_retries=0,
    time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS,
    soft_time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS - 60,
)
def import_run(job_id: int) -> str:
    """Run one ImportJob: check every row of its file, then write all or none."""
    return import_job_run(job_id=job_id)


@shared_task(
    name="annotate.export_run",
    queue="default",
    acks_late=True,
    # No automatic retry: a failed export says why on its job; the lead asks again.
    max_retries=0,
    time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS,
    soft_time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS - 60,
)
def export_run(job_id: int) -> str:
    """Run one ExportJob: write the export to the file its lead downloads."""
    return export_job_run(job_id=job_id)


@worker_ready.connect
def _end_jobs_of_dead_workers(**kwargs) -> None:  # type: ignore[no-untyped-def]
    """Imports and exports whose worker died are failed; expired exports go."""
    import_jobs_reap_stale()
    export_jobs_reap_stale()
    export_jobs_prune()
