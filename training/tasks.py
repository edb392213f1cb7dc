"""Celery tasks of the training side: thin wrappers over training.jobs and services."""

from __future__ import annotations

import socket

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from training.jobs import run_execute
from training.services import runs_fail_for_worker, runs_reap_stale
from training.steps import STEPS


@shared_task(
    name="training.run_job",
    queue="gpu",
    bind=True,
    acks_late=True,
    # No automatic retry: a relaunch by a lead resumes from the checkpoint instead.
    max_retries=0,
    time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS,
    soft_time_limit=settings.RANKWISE_JOB_TIME_LIMIT_SECONDS - 60,
)
def run_job(self, run_id: int) -> str:  # type: ignore[no-untyped-def]
    """Run one TrainingRun (train reward model, train policy, evaluate, generate)."""
    worker = self.request.hostname or socket.gethostname()
    return run_execute(run_id, worker=worker, steps=STEPS)


@worker_ready.connect
def _fail_jobs_of_previous_process(sender=None, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """Jobs this worker name left running died with its previous process."""
    hostname = getattr(sender, "hostname", None)
    if hostname:
        runs_fail_for_worker(hostname)
    runs_reap_stale()
