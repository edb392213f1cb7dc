"""The Celery application; its settings come from Django's under the CELERY_ prefix."""

import os
from typing import Any

from celery import Celery, bootsteps

from config.startup import require_private_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class RequirePrivateSecretKey(bootsteps.Step):
    """Stop a worker before it takes a task when SECRET_KEY must not be served."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        require_private_secret_key()
        super().__init__(parent, **kwargs)


app = Celery("rankwise")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.steps["worker"].add(RequirePrivateSecretKey)
app.autodiscover_tasks()
