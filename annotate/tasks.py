"""Celery tasks of the collection side."""

from celery import shared_task


@shared_task(name="rankwise.ping", queue="default", time_limit=10)
def ping() -> str:
    """Answers 'pong': shows a worker is up and reading the queue."""
    return "pong"
