"""The rankwise project package: settings, URLs, the Celery app."""

# config.startup registers the SECRET_KEY system check as the Celery app imports it.
from config.celery import app as celery_app

__all__ = ["celery_app"]
