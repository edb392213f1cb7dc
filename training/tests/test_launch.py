"""A training command run as torchrun processes: progress, errors, stopping."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from training import cli
from training.core.dpo_config import DPOConfig
from training.core.launch import (
    LAUNCHER_PID,
    TrainerFailed,
    command_line,
    config_options,
    run_launched,
)
from training.core.reward_config import RewardConfig
from training.tests.fixtures_training import synthetic_rankings


def _reward_config(data: Path, model: Path, out: Path, **overrides: Any) -> Any:
    settings = {"epochs": 1, "min_steps": 4, "batch_size": 2, "eval_fraction": 0.0}
    return RewardConfig(
        data=str(data),
        model=str(model),
        out=str(out),
        device="cpu",
        **{**settings, **overrides},
    )


def _launched_by(pid: int) -> list[int]:
    """Live processes whose environment names `pid` as their launcher: torchrun and
    its ranks (zombies have no environment; other children of pytest no marker)."""
    marker = f"{LAUNCHER_PID}={pid}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                found.append(int(entry))
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _ranks() -> list[int]:
    """The rank processes of the torchrun this test process started."""
    me = os.getpid()
    return sorted(pid for pid in _launched_by(me) if _parent(pid) != me)


def test_the_command_line_parses_back_into_the_same_config() -> None:
    config = DPOConfig(
        data="d.jsonl", model="m", out="o", lr=None, lora=True, beta=0.2, loss="ipo"
    )
    argv = command_line("dpo", config, processes=2)
    assert argv[1:5] == ["-m", "torch.distributed.run", "--standalone", argv[4]]
    assert argv[4] == "--nproc-per-node=2"
    args = cli.build_parser().parse_args(argv[argv.index("training") + 1 :])
    assert cli.config_from_args(DPOConfig, args) == config
    assert args.progress_file == str(Path("o") / "progress.jsonl")
    assert "--lora" in config_options(config)
    assert "--no-resume" in config_options(config)


def test_two_processes_report_every_step_and_the_result(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    # 16 rankings, 2 per process and micro-batch, 2 processes: 4 steps in an epoch.
    data = write_jsonl(synthetic_rankings(16), "rankings.jsonl")
    steps: list[tuple[float, str]] = []
    logged: list[str] = []
    result = run_launched(
        "reward",
        _reward_config(data, tiny_model_dir, tmp_path / "out", min_steps=0),
        processes=2,
        progress_callback=lambda fraction, message, _: steps.append(
            (fraction, message)
        ),
        log_line=logged.append,
    )
    assert steps == [(0.25, "step 1/4"), (0.5, "step 2/4"), (0.75, "step 3/4"),
                     (1.0, "step 4/4")]  # fmt: skip
    assert result.metrics["world_size"] == 2
    assert result.metrics["steps"] == 4
    assert logged[0].startswith("$ ") and "--nproc-per-node=2" in logged[0]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["steps"] == 4
    assert (tmp_path / "out" / "trainer.log").stat().st_size > 0


def test_bad_data_fails_with_the_row_and_field_it_names(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(
        [
            {"prompt": "a", "completions": ["x", "y"], "ranks": [1, 2]},
            {"prompt": "b", "completions": ["x"], "ranks": [1, 2]},
        ]
    )
    with pytest.raises(TrainerFailed) as failed:
        run_launched(
            "reward",
            _reward_config(data, tiny_model_dir, tmp_path / "out"),
            processes=2,
            progress_callback=lambda *_: None,
            log_line=lambda _: None,
        )
    message = str(failed.value)
    assert message.startswith("python -m training reward exited with code 1")
    assert "row 2: field 'completions' has 1 values" in message
    assert "To enable traceback" not in message


def test_a_rank_that_dies_fails_the_job_with_its_signal(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(12), "rankings.jsonl")
    killed: list[int] = []

    def kill_rank_one(*_: Any) -> None:
        if not killed:
            killed.append(_ranks()[-1])
            os.kill(killed[0], signal.SIGKILL)

    config = _reward_config(data, tiny_model_dir, tmp_path / "out", min_steps=500)
    with pytest.raises(TrainerFailed) as failed:
        run_launched(
            "reward",
            config,
            processes=2,
            progress_callback=kill_rank_one,
            log_line=lambda _: None,
        )
    message = str(failed.value)
    # The killed rank is named first; the peer torchrun then stopped comes after.
    assert message.startswith(
        "python -m training reward exited with code 1: rank 1 (local_rank: 1): "
        f"exitcode -9 (pid: {killed[0]})"
    ), message
    assert "Signal 9 (SIGKILL)" in message
    assert _launched_by(os.getpid()) == []


def test_an_error_in_the_callback_stops_every_process(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(12), "rankings.jsonl")
    seen: list[list[int]] = []

    class Cancelled(Exception):
        pass

    def cancel(*_: Any) -> None:
        seen.append(_ranks())
        raise Cancelled

    config = _reward_config(data, tiny_model_dir, tmp_path / "out", min_steps=500)
    started = time.monotonic()
    with pytest.raises(Cancelled):
        run_launched(
            "reward",
            config,
            processes=2,
            progress_callback=cancel,
            log_line=lambda _: None,
        )
    assert len(seen[0]) == 2  # both ranks were running
    assert _launched_by(os.getpid()) == []  # torchrun and both ranks are gone
    assert time.monotonic() - started < 120
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_the_trainer_stops_when_the_worker_that_launched_it_is_killed(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(12), "rankings.jsonl")
    out = tmp_path / "out"
    config = _reward_config(data, tiny_model_dir, out, min_steps=500)
    script = (
        "import sys; from training.core.launch import run_launched; "
        "from training.core.reward_config import RewardConfig; "
        f"run_launched('reward', RewardConfig(**{dataclasses.asdict(config)!r}), "
        "processes=2, progress_callback=lambda *a: None, log_line=lambda l: None)"
    )
    worker = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while not (out / "progress.jsonl").exists():
            assert time.monotonic() < deadline, "the trainer never reported a step"
            time.sleep(0.5)
        assert len(_launched_by(worker.pid)) == 3  # torchrun and its 2 ranks
    finally:
        worker.kill()
        worker.wait()
    deadline = time.monotonic() + 60
    while _launched_by(worker.pid):
        assert time.monotonic() < deadline, _launched_by(worker.pid)
        time.sleep(0.5)
