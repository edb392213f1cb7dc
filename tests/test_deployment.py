"""docker-compose.yml read against the settings: services, health checks, env names."""

import re
import subprocess
import sys
from pathlib import Path

import dj_database_url
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "config" / "settings.py").read_text()
GUNICORN_SOURCE = (ROOT / "config" / "gunicorn.conf.py").read_text()
# Read by libraries rather than by our settings.
READ_ELSEWHERE = {"HF_HOME"}


def settings_env_names() -> set[str]:
    """What the settings and gunicorn's config read from the environment."""
    pattern = r'(?:os\.environ\.get|env_flag|env_list|env_int)\(\s*"([A-Z0-9_]+)"'
    return set(re.findall(pattern, SETTINGS_SOURCE + GUNICORN_SOURCE))


def substitute_defaults(value: str) -> str:
    """Replace ${NAME:-default} with its default, as compose does when NAME is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_has_the_production_services_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "jobs"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    assert set(COMPOSE["volumes"]) >= {"postgres-data", "redis-data", "app-data"}


def test_every_app_env_name_is_one_the_settings_read():
    read = settings_env_names() | READ_ELSEWHERE
    for name in ("web", "worker", "jobs"):
        environment = COMPOSE["services"][name]["environment"]
        unknown = set(environment) - read
        assert not unknown, f"{name} sets {sorted(unknown)} which nothing reads"
    for required in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
    ):
        assert required in settings_env_names()
        assert required in COMPOSE["services"]["web"]["environment"]


def test_urls_point_at_the_compose_services():
    environment = COMPOSE["services"]["web"]["environment"]
    database = dj_database_url.parse(substitute_defaults(environment["DATABASE_URL"]))
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert database["HOST"] == "postgres"
    postgres_env = COMPOSE["services"]["postgres"]["environment"]
    assert database["NAME"] == postgres_env["POSTGRES_DB"]
    assert database["USER"] == postgres_env["POSTGRES_USER"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")


def queues(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    return command[command.index("--queues") + 1].split(",")


def test_rounds_and_file_jobs_have_workers_of_their_own():
    # A training round holds its worker for hours; imports and exports must not
    # queue behind it.
    assert (queues("worker"), queues("jobs")) == (["gpu"], ["default"])
    worker = COMPOSE["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert "deploy" not in COMPOSE["services"]["jobs"]  # no GPU held for files
    for name in ("web", "worker", "jobs"):
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }


def test_image_installs_the_pinned_torch_before_the_project():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.index("torch==2.13.0") < dockerfile.index("pip install .")


def test_web_processes_start_without_loading_torch():
    # Each gunicorn worker imports the URL conf; the trainer belongs to the workers.
    probe = (
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings';"
        "import django; django.setup(); import config.urls, config.wsgi;"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
