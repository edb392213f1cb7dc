"""Running one TrainingRun on a worker: claim it, beat, report, finish.

A job's liveness is its heartbeat: a thread stamps `heartbeat_at` every few seconds
while the step runs, and reads the round's cancel flag. A worker killed mid-job stops
beating, and `runs_reap_stale` (called by every page, API read and command that
watches rounds, and by a worker when it starts) marks the run failed once its
heartbeat is older than RANKWISE_RUN_STALE_AFTER_SECONDS.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from training.models import Round, TrainingRun
from training.services import job_finished

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 60
HISTORY_POINTS = 2000  # longer histories are thinned to every other point
WRITE_EVERY_SECONDS = 1.0  # progress reaches the database at most this often
# A tqdm redraw, "generate:  40%|████      | 2/5 [00:01<00:01,  2.00it/s]": it starts
# with a carriage return, and its time block reads [elapsed<remaining, rate...]. In
# a worker Celery logs whatever reaches stderr as WARNING (worker_redirect_stdouts),
# so each redraw of a bar (generation, PPO, the Hub's downloads) would take a line of
# the tail; a launched trainer's log splits its redraws into lines at the "\r".
PROGRESS_BAR = re.compile(
    r"^\r|\[(?:\d+:)?\d\d:\d\d(?:<(?:(?:\d+:)?\d\d:\d\d|\?))?, [^\]]*\]"
)


class JobCancelled(Exception):
    """The lead cancelled the round; the job stops at this step boundary."""


class JobLost(Exception):
    """The run was marked failed while running (its heartbeat was judged stale)."""


class JobReporter(logging.Handler):
    """Progress, metrics history and log tail of a running job, with its heartbeat.

    It is the `progress_callback` the trainer calls after each optimiser step, and a
    logging handler whose last lines become the run's log tail.
    """

    def __init__(self, run: TrainingRun):
        super().__init__(level=logging.INFO)
        self.run = run
        self.lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.history: list[dict[str, float]] = list(run.history)
        self.progress = run.progress
        self.message = run.message
        self.last_write = 0.0
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self.stopping = threading.Event()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.beat = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def __enter__(self) -> JobReporter:
        logging.getLogger().addHandler(self)
        self.beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.beat.join()
        logging.getLogger().removeHandler(self)
        self.flush_to_db(force=True)

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.beat.ident:
            return  # the heartbeat's own queries are noise
        if PROGRESS_BAR.search(record.getMessage()):
            return  # the progress is in `progress` and the history already
        self.lines.append(self.format(record))

    def __call__(
        self, fraction: float, message: str, metrics: dict[str, float]
    ) -> None:
        """The trainer's progress callback: record, maybe write, stop if asked."""
        self.progress = min(max(float(fraction), 0.0), 1.0)
        self.message = message
        if metrics:
            point = {k: float(v) for k, v in metrics.items() if _is_number(v)}
            self.history.append({"t": round(time.time(), 3), **point})
            if len(self.history) > HISTORY_POINTS:
                self.history = self.history[::2]
        self.flush_to_db()
        self.check()

    def log_line(self, line: str) -> None:
        """A line a trainer in another process logged; stops the job if asked."""
        if not PROGRESS_BAR.search(line):
            self.lines.append(line)
        self.check()

    def phase(self, fraction: float, message: str) -> None:
        """A step boundary outside the trainer's loop (loading, scoring, saving)."""
        self.lines.append(message)
        self(fraction, message, {})

    def check(self) -> None:
        """Raise if the round was cancelled or the run was given up for lost."""
        if self.lost.is_set():
            raise JobLost("the run was marked failed while it ran (stale heartbeat)")
        if self.cancelled.is_set():
            raise JobCancelled("cancelled by a lead")

    def flush_to_db(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < WRITE_EVERY_SECONDS:
            return
        self.last_write = now
        TrainingRun.objects.filter(pk=self.run.pk).update(
            progress=self.progress,
            message=self.message[:500],
            history=self.history,
            log_tail="\n".join(self.lines),
            heartbeat_at=timezone.now(),
        )

    def _beat(self) -> None:
        period = settings.RANKWISE_RUN_HEARTBEAT_SECONDS
        try:
            while not self.stopping.wait(period):
                alive = TrainingRun.objects.filter(
                    pk=self.run.pk, status=TrainingRun.Status.RUNNING
                ).update(heartbeat_at=timezone.now())
                if not alive:
                    self.lost.set()
                if Round.objects.filter(
                    pk=self.run.round_id, cancel_requested=True
                ).exists():
                    self.cancelled.set()
        finally:
            connection.close()  # this thread's own connection


Step = Callable[[TrainingRun, JobReporter], dict[str, Any]]


def run_execute(run_id: int, *, worker: str, steps: dict[str, Step]) -> str:
    """Run a queued job to its end; what happened, in a word.

    A second delivery of the same job (a redelivered message) finds it no longer
    queued and does nothing, so the queue's at-least-once delivery is harmless.
    """
    run = _claim(run_id, worker)
    if run is None:
        return "skipped"
    try:
        with JobReporter(run) as reporter:
            result = steps[run.kind](run, reporter)
    except JobCancelled as err:
        job_finished(run, TrainingRun.Status.CANCELLED, error=str(err))
        return "cancelled"
    except JobLost as err:
        log.warning("run %s: %s", run.pk, err)
        return "lost"
    except Exception as err:  # any failure is the run's, reported on its page
        log.exception("run %s failed", run.pk)
        detail = "".join(traceback.format_exception(err)[-3:])
        job_finished(
            run,
            TrainingRun.Status.FAILED,
            error=f"{type(err).__name__}: {err}\n{detail}",
        )
        return "failed"
    job_finished(run, TrainingRun.Status.SUCCEEDED, result=result)
    return "succeeded"


def _claim(run_id: int, worker: str) -> TrainingRun | None:
    with transaction.atomic():
        run = (
            TrainingRun.objects.select_for_update()
            .select_related("round", "round__project")
            .filter(pk=run_id)
            .first()
        )
        if run is None or run.status != TrainingRun.Status.QUEUED:
            return None
        now = timezone.now()
        run.status = TrainingRun.Status.RUNNING
        run.worker = worker
        run.started_at = run.heartbeat_at = now
        run.save(update_fields=["status", "worker", "started_at", "heartbeat_at"])
        return run


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
