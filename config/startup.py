"""Refuse to serve or work with DEBUG off on a SECRET_KEY anyone can read.

The key signs sessions and keys the annotator pseudonyms of exports, so the public
development key would let anyone forge a login or undo the pseudonyms. Every way in
refuses it: manage.py commands and runserver through a system check, gunicorn and ASGI
servers in config.wsgi / config.asgi, Celery workers through a boot step
(config.celery).
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def secret_key_problem() -> str | None:
    """Why SECRET_KEY must not be served as it is, or None when it may."""
    # pytest-django reads the settings before any conftest could set a key, and
    # tests serve nobody: pytest sets PYTEST_VERSION for the run and its children.
    if settings.DEBUG or "PYTEST_VERSION" in os.environ:
        return None
    if settings.SECRET_KEY and settings.SECRET_KEY != settings.DEVELOPMENT_SECRET_KEY:
        return None
    return (
        "SECRET_KEY is unset or the public development key, and DEBUG is off: set "
        "the SECRET_KEY environment variable to a long random string, e.g. the "
        "output of `python -c 'import secrets; print(secrets.token_urlsafe(50))'`, "
        "the same for every web process and worker, or write one to "
        f"{settings.SECRET_KEY_FILE} as `make run` does (DEBUG=1 only for "
        "development)."
    )


def require_private_secret_key() -> None:
    """Raise ImproperlyConfigured when SECRET_KEY must not be served."""
    problem = secret_key_problem()
    if problem:
        raise ImproperlyConfigured(problem)


@checks.register(checks.Tags.security)
def check_secret_key(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """The start-up refusal as a system check, so manage.py commands refuse too."""
    problem = secret_key_problem()
    return [checks.Error(problem, id="rankwise.E001")] if problem else []
