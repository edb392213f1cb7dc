"""Data-parallel training: 2 processes under torchrun (gloo) match 1 at one batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from training import cli
from training.core import distributed
from training.tests.fixtures_training import synthetic_rankings

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reward_args(data: Path, model: Path, out: Path, batch_size: int) -> list[str]:
    """A short, exactly repeatable reward run: no held-out split, one epoch."""
    return [
        "reward",
        *("--data", str(data), "--model", str(model), "--out", str(out)),
        *("--epochs", "1", "--min-steps", "0", "--eval-fraction", "0"),
        *("--batch-size", str(batch_size), "--grad-accum-steps", "2"),
        *("--device", "cpu", "--mixed-precision", "no"),
    ]


def test_two_processes_match_one_at_the_same_global_batch(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    # 14 rankings in global micro-batches of 4: steps of (4 + 4) and (4 + 2) groups,
    # so the uneven end (one group per rank) is covered too.
    data = write_jsonl(synthetic_rankings(14), "rankings.jsonl")
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli.main(_reward_args(data, tiny_model_dir, one, batch_size=4)) == 0

    launch = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1"]
    launch += ["--nproc-per-node", "2", "--master-addr", "127.0.0.1"]
    launch += ["--master-port", str(_free_port()), "-m", "training"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [*launch, *_reward_args(data, tiny_model_dir, two, batch_size=2)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert json.loads(done.stdout)["world_size"] == 2  # rank 0 alone prints

    metrics_one = json.loads((one / "metrics.json").read_text())
    metrics_two = json.loads((two / "metrics.json").read_text())
    assert (metrics_one["world_size"], metrics_two["world_size"]) == (1, 2)
    assert metrics_one["steps"] == metrics_two["steps"] == 2
    assert metrics_two["final_train_loss"] == pytest.approx(
        metrics_one["final_train_loss"], abs=1e-5
    )
    weights_one = load_file(one / "model.safetensors")
    weights_two = load_file(two / "model.safetensors")
    assert weights_one.keys() == weights_two.keys()
    for name, tensor in weights_one.items():
        torch.testing.assert_close(weights_two[name], tensor, atol=1e-5, rtol=0)


def test_shard_gives_every_rank_as_many_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        shares.append(distributed.shard(["a", "b", "c"]))
    # Three items over two ranks: the first repeats so both run one more forward.
    assert shares == [["a", "b"], ["c", "a"]]


def test_one_process_is_not_distributed() -> None:
    assert "WORLD_SIZE" not in os.environ
    distributed.init_distributed()
    assert (distributed.world_size(), distributed.rank()) == (1, 0)
    assert distributed.is_main()
    assert distributed.shard([1, 2, 3]) == [1, 2, 3]
    assert distributed.split_map(lambda xs: [x * 2 for x in xs], [1, 2]) == [2, 4]


def test_commands_without_sharding_refuse_several_processes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ppo", "--data", "prompts.jsonl", "--reward-model", "rm"])
    assert exit_info.value.code == cli.EXIT_BAD_INPUT
    assert "only sft, reward, dpo train data-parallel" in capsys.readouterr().err
