"""Real processes: `make run` serves and its worker answers; a worker on real Redis."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_line(process: subprocess.Popen, pattern: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(seen)}")


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_run_serves_login_and_workers_answer_ping_then_stop_on_ctrl_c():
    port = free_port()
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        ready = wait_for_line(make, r"rankwise is running at", timeout_s=240)
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", ready)]
        assert len(pids) == 3  # the web server, the gpu and the default worker
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as page:
            assert page.status == 200
            assert b"Log in" in page.read()
        from config.celery import app

        for queue in ("default", "gpu"):  # each queue's own worker answers
            ping = app.send_task("rankwise.ping", queue=queue)
            assert ping.get(timeout=120) == "pong"
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=60)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(is_alive(pid) for pid in pids):
        time.sleep(0.2)
    assert not any(is_alive(pid) for pid in pids)


def test_worker_on_redis_answers_ping():
    redis_url = os.environ.get("RANKWISE_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("RANKWISE_TEST_REDIS_URL is unset: `make test` starts Redis")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "RANKWISE_VAR_DIR": str(settings.VAR_DIR),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
         "--queues", "default", "--hostname", f"redis-test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = (
            "from config.celery import app;"
            "print(app.send_task('rankwise.ping').get(timeout=60));"
            "print(len(app.control.ping(timeout=5)))"
        )
        answer = subprocess.run(
            [sys.executable, "-c", client],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert answer.returncode == 0, answer.stderr
        pong, workers = answer.stdout.split()
        assert pong == "pong" and int(workers) >= 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)
