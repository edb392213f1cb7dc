"""N annotators at once against a rankwise server: errors, latency, integrity.

Each simulated annotator gets a token, then through the REST API takes its next task
and submits a ranking (every second one with the last two outputs tied) until no task
is left, as the README's "REST API" section shows; the tasks start once every
annotator has its token (`--logins-overlap`: at once). By default the script serves
the embedded default itself, `manage.py runserver` on a fresh SQLite file as `make
run` does; `--server gunicorn` serves with config/gunicorn.conf.py, the production
settings (the flags below change one for the run), and `--database-url` names the
database.

    .venv/bin/python bench/load_annotators.py                  # 10 annotators
    .venv/bin/python bench/load_annotators.py --annotators 50 --prompts 200 \\
        --server gunicorn --database-url postgres://postgres@127.0.0.1:5432/rankwise
    .venv/bin/python bench/load_annotators.py ... --worker-class sync --workers 3

Prints task requests, throughput, p50/p95/p99 per endpoint, every unexpected answer,
and an integrity check: every 201 stored once, comparisons = sum of C(K,2) minus tied
pairs, no prompt over its overlap.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"token": {200}, "next": {200, 204}, "submit": {201}}


@dataclass
class AnnotatorLog:
    """One client's view: (endpoint, status, seconds) of every call, the rankings
    of its stored (201) annotations by id, each unexpected answer, and when its
    work started and finished (time.perf_counter)."""

    calls: list[tuple[str, int, float]] = field(default_factory=list)
    stored: dict[int, list[list[int]]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0


def post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, Any]:
    """POST JSON; the status and the decoded body (an error's first 300 bytes)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:300].decode(errors="replace")


def ranking_for(task: dict[str, Any], *, tie_last_two: bool) -> list[list[int]]:
    """Outputs in display order, one per rank; optionally the last two tied."""
    ids = [output["candidate"] for output in task["outputs"]]
    if tie_last_two:
        return [[cid] for cid in ids[:-2]] + [ids[-2:]]
    return [[cid] for cid in ids]


def submission(task: dict[str, Any], buckets: list[list[int]]) -> dict[str, Any]:
    # Ratings fall with the rank, so no ranking contradicts its ratings (no 409).
    likert = {
        str(cid): 7 - rank for rank, bucket in enumerate(buckets) for cid in bucket
    }
    return {
        "assignment": task["id"],
        "client_id": str(uuid.uuid4()),
        "ranking": buckets,
        "likert": likert,
        "flags": {},
    }


def tied_pairs(buckets: list[list[int]]) -> int:
    return sum(comb(len(bucket), 2) for bucket in buckets)


class Annotator:
    """One simulated annotator; an unexpected answer is logged and the step retried."""

    def __init__(self, api: str, username: str, password: str, log: AnnotatorLog):
        self.api, self.username, self.password, self.log = api, username, password, log

    def call(self, endpoint: str, path: str, body: dict, token: str | None = None):
        started = time.perf_counter()
        status, answer = post(f"{self.api}{path}", body, token)
        self.log.calls.append((endpoint, status, time.perf_counter() - started))
        if status not in EXPECTED[endpoint]:
            self.log.unexpected.append(f"{self.username} {endpoint} {status}: {answer}")
        return status, answer

    def log_in(self, deadline: float) -> str | None:
        """An API token, asked for until it comes (None if the time ran out)."""
        credentials = {"username": self.username, "password": self.password}
        while time.monotonic() < deadline:
            status, answer = self.call("token", "/auth/token/", credentials)
            if status == 200:
                return answer["token"]
        return None

    def work(self, token: str, project_id: int, deadline: float) -> None:
        """Take and submit tasks until `next` answers 204."""
        while time.monotonic() < deadline:
            status, task = self.call(
                "next", "/assignments/next/", {"project": project_id}, token
            )
            if status == 204:
                return
            if status != 200:
                continue
            buckets = ranking_for(task, tie_last_two=len(self.log.stored) % 2 == 1)
            status, stored = self.call(
                "submit", "/annotations/", submission(task, buckets), token
            )
            if status == 201:
                self.log.stored[stored["id"]] = buckets
        self.log.unexpected.append(f"{self.username} ran out of time")


def run_annotators(
    api: str,
    credentials: list[tuple[str, str]],
    project_id: int,
    timeout_s: float,
    *,
    logins_overlap: bool = False,
) -> list[AnnotatorLog]:
    """Every annotator in its own thread until the queue is empty (or the timeout).

    Unless `logins_overlap`, every annotator has its token before any takes a task:
    a login costs ~0.4 s of password hashing, and fifty at once hold both cores of
    a small machine for ~10 s, which would measure the login storm rather than the
    task endpoints. Each log's `started` is when its annotator started to work
    (logins included when they overlap).
    """
    logs = [AnnotatorLog() for _ in credentials]
    deadline = time.monotonic() + timeout_s
    all_logged_in = None if logins_overlap else threading.Barrier(len(credentials))

    def log_in_then_work(annotator: Annotator) -> None:
        annotator.log.started = time.perf_counter()
        token = annotator.log_in(deadline)
        if all_logged_in is not None:
            all_logged_in.wait()
            annotator.log.started = time.perf_counter()
        if token is None:
            annotator.log.unexpected.append(f"{annotator.username} never logged in")
        else:
            annotator.work(token, project_id, deadline)
        annotator.log.finished = time.perf_counter()

    threads = [
        threading.Thread(
            target=log_in_then_work, args=(Annotator(api, username, password, log),)
        )
        for (username, password), log in zip(credentials, logs, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return logs


def integrity_problems(
    logs: list[AnnotatorLog], project_id: int, k: int, overlap: int
) -> list[str]:
    """What the database holds that the 201 answers do not account for."""
    from annotate.models import Annotation, Assignment, Comparison

    stored = {aid: buckets for log in logs for aid, buckets in log.stored.items()}
    in_project = {"assignment__prompt__project_id": project_id}
    problems = []
    if set(Annotation.objects.filter(**in_project).values_list("id", flat=True)) != set(
        stored
    ):
        problems.append("the stored annotations differ from those answered 201")
    expected = sum(comb(k, 2) - tied_pairs(buckets) for buckets in stored.values())
    comparisons = Comparison.objects.filter(
        annotation__assignment__prompt__project_id=project_id
    ).count()
    if comparisons != expected:
        problems.append(f"{comparisons} comparisons, expected {expected}")
    per_prompt = Counter(
        Assignment.objects.filter(
            prompt__project_id=project_id, status=Assignment.Status.SUBMITTED
        ).values_list("prompt_id", flat=True)
    )
    over = [prompt for prompt, count in per_prompt.items() if count > overlap]
    if over:
        problems.append(f"prompts judged more than {overlap} times: {over}")
    return problems


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(logs: list[AnnotatorLog], problems: list[str]) -> str:
    calls = [call for log in logs for call in log.calls]
    seconds = max(log.finished for log in logs) - min(log.started for log in logs)
    unexpected = [line for log in logs for line in log.unexpected]
    tasks = sum(1 for endpoint, _, _ in calls if endpoint != "token")
    lines = [
        f"{tasks} task requests (next, submit) in {seconds:.1f} s "
        f"({tasks / seconds:.1f}/s), {len(unexpected)} unexpected",
        f"{'endpoint':<8} {'n':>5} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}",
    ]
    for endpoint, expected in EXPECTED.items():
        times = [s * 1000 for e, _, s in calls if e == endpoint]
        errors = sum(
            1 for e, status, _ in calls if e == endpoint and status not in expected
        )
        if times:
            lines.append(
                f"{endpoint:<8} {len(times):>5} {errors:>6} "
                f"{statistics.median(times):>8.0f} {percentile(times, 0.95):>8.0f} "
                f"{percentile(times, 0.99):>8.0f}"
            )
    statuses = Counter(f"{e} {status}" for e, status, _ in calls)
    lines.append(
        "answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    )
    lines.extend("  " + " ".join(line.split())[:160] for line in unexpected[:5])
    stored = sum(len(log.stored) for log in logs)
    lines.append(
        f"integrity: {stored} annotations answered 201; "
        + ("; ".join(problems) if problems else "each stored once, comparisons match")
    )
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    address = f"127.0.0.1:{port}"
    if args.server == "gunicorn":
        # The production settings, with only what the command line names changed.
        command = [
            sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.conf.py",
            "--bind", address,
        ]  # fmt: skip
        for flag, value in (
            ("--worker-class", args.worker_class),
            ("--workers", args.workers),
            ("--threads", args.threads),
        ):
            if value is not None:
                command += [flag, str(value)]
    else:
        command = [sys.executable, "manage.py", "runserver", address, "--noreload"]
    return subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_until_serving(url: str, server: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {timeout_s:.0f} s")


def seed(args: argparse.Namespace) -> tuple[int, list[tuple[str, str]]]:
    """Migrate, then a fresh project with annotators as members: (id, credentials)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotate.models import Membership, Project
    from annotate.services import candidate_create, membership_set, prompt_create

    call_command("migrate", verbosity=0)
    run_id = uuid.uuid4().hex[:8]
    project = Project.objects.create(
        slug=f"load-{run_id}",
        name=f"Load {run_id}",
        annotations_per_prompt=args.overlap,
    )
    credentials = []
    for i in range(args.annotators):
        username, password = f"load-{run_id}-{i}", secrets.token_urlsafe(12)
        user = get_user_model().objects.create_user(username, password=password)
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
        credentials.append((username, password))
    for p in range(args.prompts):
        prompt, _ = prompt_create(project=project, text=f"Question {p} of {run_id}?")
        for c in range(args.k):
            candidate_create(prompt=prompt, text=f"Answer {c} to {p}.", source=f"m{c}")
    return project.pk, credentials


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--k", type=int, default=4, help="outputs per prompt")
    parser.add_argument("--overlap", type=int, default=3, help="annotators per prompt")
    parser.add_argument(
        "--server", choices=["runserver", "gunicorn"], default="runserver"
    )
    # Unset: as config/gunicorn.conf.py (and its environment overrides) says.
    parser.add_argument("--worker-class", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--workers", type=int, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker")
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file, as make run"
    )
    parser.add_argument(
        "--settings", default="config.settings", help="DJANGO_SETTINGS_MODULE to try"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds in all")
    parser.add_argument(
        "--logins-overlap",
        action="store_true",
        help="start taking tasks as soon as each token comes, not once all have",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="rankwise-load-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE=args.settings,
        RANKWISE_VAR_DIR=str(var_dir),
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections

    project_id, credentials = seed(args)
    port = free_port()
    server = start_server(args, port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/accounts/login/", server, 120)
        logs = run_annotators(
            f"http://127.0.0.1:{port}/api/v1",
            credentials,
            project_id,
            args.timeout,
            logins_overlap=args.logins_overlap,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    problems = integrity_problems(logs, project_id, args.k, args.overlap)
    database = args.database_url.split("://")[0] if args.database_url else "sqlite"
    print(
        f"{args.server} on {database} ({args.settings}), {args.annotators} annotators,"
        f" {args.prompts} prompts x {args.overlap} judgements, K={args.k}"
    )
    print(report(logs, problems))
    connections.close_all()
    shutil.rmtree(var_dir)


if __name__ == "__main__":
    main()
