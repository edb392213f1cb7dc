"""`make run`: the web server and two Celery workers on this machine, stopped together.

One worker per queue, so that an import or an export (the `default` queue, minutes)
never waits behind a training round (the `gpu` queue, hours).

Usage: python -m config.embedded [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

# (queue, worker name): each queue its own single-process worker.
WORKERS = (("gpu", "training@%h"), ("default", "jobs@%h"))


def broker_folders() -> list[Path]:
    """Folders the filesystem broker and file result backend need before start."""
    folders = [
        settings.CELERY_FILESYSTEM_DIR,
        settings.VAR_DIR / "celery-results",
        settings.VAR_DIR / "celery-control",
    ]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def start_worker(queue: str, name: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--loglevel", "INFO", "--concurrency", "1", "--queues", queue,
        "--hostname", name,
    ]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True)


def start_web(host: str, port: int) -> subprocess.Popen:
    command = [
        sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload",
    ]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True)


def wait_until_serving(url: str, web: subprocess.Popen, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each process group, then SIGKILL whatever is left after 10 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    import django

    django.setup()
    from annotate.demo import DEMO_LOGINS

    broker_folders()
    workers = [start_worker(queue, name) for queue, name in WORKERS]
    web = start_web(args.host, args.port)
    processes = [*workers, web]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    url = f"http://{args.host}:{args.port}/"
    if wait_until_serving(url + "accounts/login/", web):
        pids = f"web pid {web.pid}, " + ", ".join(
            f"{queue} worker pid {worker.pid}"
            for (queue, _), worker in zip(WORKERS, workers, strict=True)
        )
        print(
            f"\nrankwise is running at {url}  (admin: {url}admin/; {pids})", flush=True
        )
        for login in DEMO_LOGINS:
            print(
                f"  {login.username:<11} / {login.password}  ({login.role})", flush=True
            )
        print("Press Ctrl-C to stop the server and the workers.\n", flush=True)
    while not stopping and all(process.poll() is None for process in processes):
        time.sleep(0.5)
    stop(processes)
    print("rankwise stopped.", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.exit(main())
