"""Running a training command as its own processes under torchrun, and following it.

A round's job that trains on several devices starts `python -m torch.distributed.run
--standalone --nproc-per-node N -m training CMD --option value …`: the same command a
person runs by hand or a cluster scheduler (Slurm, Ray Jobs, Kubernetes) starts, so
rankwise adds no distribution layer of its own. Rank 0 appends one JSON line per
optimiser step to a progress file (`ProgressFile`); the launcher reads it and the
trainer's log as they grow and hands both to the caller, so the job's page shows the
same progress bar, metrics and log tail as a job trained inside the worker.

Stopping is the caller's: when its callback raises (a cancelled round, a lost run, a
time limit) the whole process group is terminated before the error goes on. A rank
that dies makes torchrun stop the others and exit non-zero; `TrainerFailed` then
carries that rank's error, read from the log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from training.core.distributed import is_main
from training.core.loop import ProgressCallback
from training.core.recipe import METRICS_FILE, TrainResult

# The folder holding the `training` package, so `-m training` imports this code
# whatever the worker's current directory.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
PROGRESS_FILE = "progress.jsonl"
# Set for the ranks: the process that launched them. Its own process group keeps
# torchrun safe from signals meant for the worker, so it would outlive a killed worker
# and train on beside a relaunch; each rank exits when this process is gone.
LAUNCHER_PID = "RANKWISE_LAUNCHER_PID"
LAUNCHER_CHECK_SECONDS = 2.0
TRAINER_LOG = "trainer.log"
POLL_SECONDS = 0.5
TERMINATE_GRACE_SECONDS = 15  # for ranks to leave the process group before SIGKILL
EXIT_LAUNCHER_GONE = 3
ERROR_LINES = 12  # of the log, kept in TrainerFailed's message when no cause is found


class TrainerFailed(RuntimeError):
    """The launched trainer exited with an error (its message says whose and why)."""


class ProgressFile:
    """The trainer's progress callback writing JSON lines a launcher follows.

    Only rank 0 writes (the loop calls back on rank 0 alone); each line is flushed
    whole, so a reader never sees half of one.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __call__(
        self, fraction: float, message: str, metrics: dict[str, float]
    ) -> None:
        if not is_main():
            return
        line = json.dumps(
            {"fraction": fraction, "message": message, "metrics": metrics}
        )
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def exit_with_launcher() -> None:
    """In a launched rank: exit at once when the launching process has died."""
    pid = int(os.environ.get(LAUNCHER_PID, "0"))
    if pid:
        threading.Thread(
            target=_watch_launcher, args=(pid,), daemon=True, name="launcher"
        ).start()


def _watch_launcher(pid: int) -> None:
    while True:
        time.sleep(LAUNCHER_CHECK_SECONDS)
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            os._exit(EXIT_LAUNCHER_GONE)


def command_line(command: str, config: Any, *, processes: int) -> list[str]:
    """The torchrun command line that runs `command` with every field of `config`."""
    progress = Path(config.out) / PROGRESS_FILE
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # one host, a free rendezvous port: jobs never collide
        f"--nproc-per-node={processes}",
        "-m",
        "training",
        command,
        *config_options(config),
        f"--progress-file={progress}",
    ]


def config_options(config: Any) -> list[str]:
    """The config's fields as the options `python -m training` parses back into it."""
    words = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        option = "--" + field.name.replace("_", "-")
        if value is None:
            continue  # None is every optional field's default
        if isinstance(value, bool):
            words.append(option if value else "--no-" + option[2:])
        elif isinstance(value, int | float | str):
            words.append(f"{option}={value}")
        else:
            raise TypeError(
                f"{field.name}: a {type(value).__name__} has no command-line form"
            )
    return words


def run_launched(
    command: str,
    config: Any,
    *,
    processes: int,
    progress_callback: ProgressCallback,
    log_line: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> TrainResult:
    """Run `command` on `processes` processes; its result once every rank is done.

    `progress_callback` gets each step the trainer reports and `log_line` each line
    it logs; either may raise to stop the trainer (it is terminated first).
    """
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    progress_path = out / PROGRESS_FILE
    progress_path.unlink(missing_ok=True)  # a relaunch's steps start afresh
    argv = command_line(command, config, processes=processes)
    log_line("$ " + shlex.join(argv))
    child_env = {**os.environ, **(env or {}), LAUNCHER_PID: str(os.getpid())}
    child_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SOURCE_ROOT), child_env.get("PYTHONPATH")])
    )
    log_path = out / TRAINER_LOG
    start = log_path.stat().st_size if log_path.exists() else 0  # earlier attempts'
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            start_new_session=True,  # its own process group, stopped as one
        )
        follower = _Follower(
            progress_path, log_path, start, progress_callback, log_line
        )
        try:
            while process.poll() is None:
                follower.read()
                time.sleep(POLL_SECONDS)
            follower.read()
        except BaseException:
            _terminate(process)
            raise
    if process.returncode != 0:
        with log_path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", errors="replace")
        raise TrainerFailed(_failure(command, process.returncode, text))
    metrics = json.loads((out / METRICS_FILE).read_text(encoding="utf-8"))
    return TrainResult(out, metrics)


class _Follower:
    """Reads what the trainer appended to its progress file and log since last time."""

    def __init__(
        self,
        progress_path: Path,
        log_path: Path,
        log_start: int,
        progress_callback: ProgressCallback,
        log_line: Callable[[str], None],
    ):
        self.progress_path = progress_path
        self.progress_offset = 0
        self.log_path = log_path
        self.log_offset = log_start
        self.progress_callback = progress_callback
        self.log_line = log_line

    def read(self) -> None:
        for line in self._new_lines_of_log():
            self.log_line(line)
        for line in self._new_progress_lines():
            step = json.loads(line)
            self.progress_callback(step["fraction"], step["message"], step["metrics"])

    def _new_progress_lines(self) -> list[str]:
        if not self.progress_path.exists():
            return []
        with self.progress_path.open("rb") as handle:
            handle.seek(self.progress_offset)
            lines, self.progress_offset = _whole_lines(
                handle.read(), self.progress_offset
            )
        return lines

    def _new_lines_of_log(self) -> list[str]:
        with self.log_path.open("rb") as handle:
            handle.seek(self.log_offset)
            lines, self.log_offset = _whole_lines(handle.read(), self.log_offset)
        return [line for line in lines if line.strip()]


def _whole_lines(data: bytes, offset: int) -> tuple[list[str], int]:
    """The complete lines of `data` read at `offset`, and the offset after them."""
    end = data.rfind(b"\n") + 1  # a line still being written waits for next time
    text = data[:end].decode("utf-8", errors="replace")
    return text.splitlines(), offset + end


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop torchrun and every rank: SIGTERM to the group, SIGKILL after a grace."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# torchrun's closing summary: a block per failed rank, "[0]:" then "key : value" lines.
_SUMMARY_START = ("Failures:", "Root Cause")
_BLOCK_START = re.compile(r"^\[\d+\]:\s*$")
_FIELD = re.compile(r"^\s*(rank|exitcode|traceback)\s*:\s*(.+?)\s*$")
_ERROR_LINE = re.compile(r"^\s*[\w.]+(Error|Exception): .+$")


def _failure(command: str, returncode: int, log: str) -> str:
    """What went wrong, for a person: each failed rank and its error, from the log.

    Ranks torchrun itself stopped (SIGTERM) come last: the rank that died first is
    the cause, the others' errors (a peer's connection reset) its consequence.
    """
    lines = log.splitlines()
    ranks = sorted(_failed_ranks(lines), key=lambda rank: "SIGTERM" in rank)
    # The trainer's own refusal of its input, printed by every rank alike.
    refusals = [
        line
        for line in lines
        if line.startswith(f"python -m training {command}: error: ")
    ]
    detail = refusals[-1:] + ranks
    if not detail:  # died before torchrun's summary: the log's own error lines
        errors = [line.strip() for line in lines if _ERROR_LINE.match(line)]
        detail = errors[-1:] or [line.strip() for line in lines[-ERROR_LINES:]]
    return f"python -m training {command} exited with code {returncode}: " + "; ".join(
        detail
    )


def _failed_ranks(lines: list[str]) -> list[str]:
    """One line per rank in torchrun's summary: rank, exit code and error."""
    starts = [i for i, line in enumerate(lines) if line.startswith(_SUMMARY_START)]
    if not starts:
        return []
    blocks: list[list[str]] = []
    for line in lines[starts[0] :]:
        if _BLOCK_START.match(line):
            blocks.append([])
        elif blocks:
            blocks[-1].append(line)
    described = []
    for block in blocks:
        fields = {m[1]: m[2] for line in block if (m := _FIELD.match(line))}
        if "rank" not in fields:
            continue
        errors = [line.strip() for line in block if _ERROR_LINE.match(line)]
        traceback = fields.get("traceback", "")
        error = errors[-1] if errors else traceback
        if error.startswith("To enable traceback"):  # no error file was written
            error = ""
        described.append(
            f"rank {fields['rank']}: exitcode {fields.get('exitcode', '?')}"
            + (f": {error}" if error else "")
        )
    return described
