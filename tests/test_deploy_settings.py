"""Production settings: `check --deploy` clean over HTTPS, no start on a public key.

Settings are read once, at import, so every case runs in its own process with its own
environment. PYTEST_VERSION is left out: tests may run on the development key, a
server started outside them may not.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
HOST = "rankwise.example.org"
HTTPS_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": HOST,
    "SECURE_PROXY_SSL_HEADER": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}
REFUSAL = "SECRET_KEY is unset or the public development key, and DEBUG is off"


@pytest.fixture
def run(tmp_path):
    """Run a command in a fresh interpreter with only the given settings' variables,
    on an empty var folder (so without `make run`'s key file)."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        # make test sets DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests' live
        # server; a deployment never does, and check --deploy says so.
        if name not in HTTPS_ENV
        and name not in ("PYTEST_VERSION", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    inherited["RANKWISE_VAR_DIR"] = str(tmp_path)

    def run(command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *command],
            cwd=ROOT,
            env={**inherited, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def test_https_settings_pass_check_deploy_redirect_http_and_secure_cookies(run):
    # One process for both: loading the URLs (every view) dominates its run time.
    probe = (
        "import django; django.setup(); from django.core.management import "
        "call_command; from django.test import Client;"
        "call_command('check', deploy=True, fail_level='WARNING');"
        f"client = Client(HTTP_HOST={HOST!r});"
        "plain = client.get('/accounts/login/');"
        "proxied = client.get('/accounts/login/', HTTP_X_FORWARDED_PROTO='https');"
        "print(plain.status_code, plain['Location']);"
        "print(proxied.status_code, proxied['Strict-Transport-Security']);"
        "print(proxied.cookies['csrftoken']['secure'])"
    )
    done = run(["-c", probe], DJANGO_SETTINGS_MODULE="config.settings", **HTTPS_ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "System check identified no issues (0 silenced).",
        f"301 https://{HOST}/accounts/login/",
        "200 max-age=31536000; includeSubDomains; preload",
        "True",
    ]


@pytest.mark.parametrize(
    "key_env",
    [{}, {"SECRET_KEY": ""}, {"SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY}],
    ids=["unset", "empty", "development"],
)
def test_manage_py_refuses_a_public_key_with_debug_off(run, key_env):
    # Only the security checks: the URL checks would import every view, for seconds.
    done = run(["manage.py", "check", "--tag", "security"], DEBUG="0", **key_env)
    assert done.returncode == 1
    assert f"(rankwise.E001) {REFUSAL}" in done.stderr


def test_wsgi_server_refuses_an_unset_key_with_debug_off(run):
    done = run(["-c", "import config.wsgi"], DEBUG="0")
    assert done.returncode == 1
    assert f"ImproperlyConfigured: {REFUSAL}" in done.stderr


def test_worker_refuses_the_development_key_with_debug_off(run):
    worker = ["-m", "celery", "-A", "config", "worker", "--pool", "solo"]
    done = run(worker, DEBUG="0", SECRET_KEY=settings.DEVELOPMENT_SECRET_KEY)
    assert done.returncode == 1
    assert f"ImproperlyConfigured: {REFUSAL}" in done.stderr


def test_development_runs_on_the_development_key_with_debug_on(run):
    done = run(["manage.py", "check", "--tag", "security"], DEBUG="1")
    assert done.returncode == 0, done.stderr


def test_the_key_make_run_writes_is_used_when_secret_key_is_unset(run, tmp_path):
    key = secrets.token_urlsafe(50)
    (tmp_path / "secret-key").write_text(key + "\n")
    probe = "from django.conf import settings; print(settings.SECRET_KEY)"
    done = run(["-c", probe], DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == key
    assert run(["manage.py", "check", "--tag", "security"], DEBUG="0").returncode == 0
