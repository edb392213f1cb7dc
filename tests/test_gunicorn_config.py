"""config/gunicorn.conf.py: the one place the web server's settings are chosen.

The image, the compose file and the load benchmark all start gunicorn with it and set
nothing of their own; the environment overrides its defaults; gunicorn serves with it.
"""

from __future__ import annotations

import os
import runpy
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "config/gunicorn.conf.py"
ENVIRONMENT = (
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_BIND",
)


def read_config(**environment: str) -> dict[str, object]:
    saved = dict(os.environ)
    try:
        for name in ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(environment)
        return runpy.run_path(str(ROOT / CONFIG))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_defaults_are_the_benchmarked_threaded_workers():
    config = read_config()
    assert config["wsgi_app"] == "config.wsgi:application"
    assert config["worker_class"] == "gthread"
    assert (config["workers"], config["threads"], config["timeout"]) == (2, 4, 30)
    assert config["bind"] == "0.0.0.0:8000"


def test_the_environment_overrides_the_defaults():
    config = read_config(
        WEB_CONCURRENCY="4", GUNICORN_THREADS="2", GUNICORN_TIMEOUT="9"
    )
    assert (config["workers"], config["threads"], config["timeout"]) == (4, 2, 9)
    # compose passes an unset ${WEB_CONCURRENCY:-} as an empty string.
    config = read_config(WEB_CONCURRENCY="", GUNICORN_THREADS="", GUNICORN_TIMEOUT="")
    assert (config["workers"], config["threads"], config["timeout"]) == (2, 4, 30)


def test_image_compose_and_benchmark_start_gunicorn_with_the_config_alone():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "config/gunicorn.conf.py"]' in dockerfile
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    assert (
        web["command"]
        .rstrip()
        .endswith('exec gunicorn --config config/gunicorn.conf.py"')
    )
    for flag in ("--workers", "--threads", "--worker-class", "--timeout", "-w "):
        assert flag not in web["command"] and flag not in dockerfile
    bench = (ROOT / "bench" / "load_annotators.py").read_text()
    assert '"--config", "config/gunicorn.conf.py"' in bench


def test_gunicorn_serves_with_it(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "RANKWISE_VAR_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    environment.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", CONFIG]
        + ["--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/accounts/login/"
                with urllib.request.urlopen(url, timeout=5) as response:
                    status = response.status
            except OSError:
                time.sleep(0.3)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert status == 200, log
    assert "Using worker: gthread" in log
    assert log.count("Booting worker") == 1
