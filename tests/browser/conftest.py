"""Playwright on Debian's Chromium: no browser download, no network beyond loopback."""

import os
import shutil
import threading
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is missing: `make test` installs Debian's chromium package."
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def log_in(live_server):
    def log_in_as(page, username: str, password: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return log_in_as


JOB_WORKER_DELAY_SECONDS = 1.5  # long enough for a page to show the job queued


@pytest.fixture
def job_worker(monkeypatch, settings, tmp_path):
    """Queued imports and exports run in a thread of this process, as a worker would,
    a moment after they are queued (the test has no broker)."""
    from annotate.exporting import jobs as export_jobs
    from annotate.importing import jobs as import_jobs

    settings.VAR_DIR = tmp_path / "var"
    runners = {
        export_jobs.JOB_TASK: export_jobs.export_job_run,
        import_jobs.JOB_TASK: import_jobs.import_job_run,
    }
    threads: list[threading.Thread] = []

    def send_task(name, args, queue):
        assert queue == "default"
        timer = threading.Timer(
            JOB_WORKER_DELAY_SECONDS, lambda: runners[name](job_id=args[0])
        )
        timer.start()
        threads.append(timer)
        return type("Result", (), {"id": f"thread-{len(threads)}"})()

    # One Celery app: both job modules send through it.
    monkeypatch.setattr(export_jobs.current_app, "send_task", send_task)
    yield
    for thread in threads:
        thread.join()
