"""`python -m training`: options generated from configs, results, exit codes, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from training import cli
from training.core.dpo_config import DPOConfig
from training.core.loop import CHECKPOINT_FILE
from training.tests.fixtures_training import synthetic_rankings

REPO = Path(__file__).resolve().parents[2]


def _reward_args(data: Path, model: Path, out: Path, *extra: str) -> list[str]:
    """A short reward run on the tiny model."""
    return [
        "reward",
        "--data",
        str(data),
        "--model",
        str(model),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--min-steps",
        "0",
        "--eval-fraction",
        "0.25",
        *extra,
    ]


def test_help_runs_as_a_module() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "training", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(cli.COMMANDS) == {
        "sft", "reward", "dpo", "ppo", "rloo", "bon", "raft", "generate"
    }  # fmt: skip
    for command in cli.COMMANDS:
        assert command in done.stdout


def test_options_come_from_the_config_fields(capsys: pytest.CaptureFixture) -> None:
    args = cli.build_parser().parse_args(
        ["dpo", "--data", "d.jsonl", "--loss", "ipo", "--beta", "0.5", "--lora"]
    )
    config = cli.config_from_args(DPOConfig, args)
    assert config == DPOConfig(data="d.jsonl", loss="ipo", beta=0.5, lora=True)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["dpo", "--data", "d", "--loss", "nope"])
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["reward", "--help"])
    help_text = capsys.readouterr().out
    assert "--margin-per-rank" in help_text and "--no-lora" in help_text
    assert "centring term" in help_text  # field help becomes option help


def test_reward_command_writes_model_metrics_and_curve(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(16), "rankings.jsonl")
    out = tmp_path / "rm"
    assert cli.main(_reward_args(data, tiny_model_dir, out)) == 0
    for name in ("config.json", "model.safetensors", "rankwise_config.json"):
        assert (out / name).is_file(), name
    assert (out / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 2 and "eval_accuracy" in metrics
    saved = json.loads((out / "checkpoint" / "rankwise_config.json").read_text())
    assert saved["epochs"] == 1 and saved["data"] == str(data)


def test_bad_data_exits_2_naming_file_row_and_field(
    write_jsonl: Any, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good, bad = synthetic_rankings(2)
    del bad["ranks"]
    data = write_jsonl([good, bad], "bad.jsonl")
    out = tmp_path / "never"
    assert cli.main(_reward_args(data, tmp_path / "no-model", out)) == 2
    message = capsys.readouterr().err
    assert str(data) in message and "row 2" in message and "'ranks'" in message
    assert not out.exists()  # nothing was trained or written


def test_resume_continues_the_step_count(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(16), "rankings.jsonl")
    out = tmp_path / "rm"
    assert cli.main(_reward_args(data, tiny_model_dir, out)) == 0
    first = torch.load(out / "checkpoint" / CHECKPOINT_FILE, weights_only=False)
    # The last --epochs wins: the resumed run goes on to a second epoch.
    assert (
        cli.main(_reward_args(data, tiny_model_dir, out, "--resume", "--epochs", "2"))
        == 0
    )
    second = torch.load(out / "checkpoint" / CHECKPOINT_FILE, weights_only=False)
    assert first["step"] == 2 and second["step"] == 4
    assert [row["step"] for row in second["history"]] == [1, 2, 3, 4]
    assert second["history"][:2] == first["history"]


def test_generate_writes_k_completions_per_prompt(
    write_jsonl: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RANKWISE_MODELS_DIR", str(tmp_path / "models"))
    prompts = [{"prompt": "Say hi."}, {"prompt": "Count to three."}]
    data = write_jsonl(prompts + prompts[:1], "prompts.jsonl")  # repeats are dropped
    out = tmp_path / "gen"
    args = ["generate", "--data", str(data), "--out", str(out), "--k", "2"]
    assert cli.main([*args, "--max-new-tokens", "4", "--device", "cpu"]) == 0
    assert (tmp_path / "models" / "tiny-default" / "config.json").is_file()
    lines = (out / "generations.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["prompt"] for r in records] == ["Say hi.", "Count to three."]
    for record in records:
        assert len(record["completions"]) == len(record["n_tokens"]) == 2
        assert all(0 < n <= 4 for n in record["n_tokens"])
        assert all(lp <= 0 for lp in record["logprobs"])


def test_ppo_from_the_command_line_scores_with_a_reward_model_folder(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    rankings = synthetic_rankings(24, k=3, seed=0)
    data = tmp_path / "rankings.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rankings))
    assert cli.main(_reward_args(data, tiny_model_dir, tmp_path / "rm")) == 0
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(json.dumps({"prompt": r["prompt"]}) + "\n" for r in rankings[:4])
    )
    ppo_args = ["ppo", "--data", str(prompts), "--model", str(tiny_model_dir)]
    ppo_args += ["--reward-model", str(tmp_path / "rm"), "--out", str(tmp_path / "ppo")]
    ppo_args += ["--epochs", "1", "--min-steps", "0", "--batch-size", "2"]
    ppo_args += ["--max-new-tokens", "4"]
    assert cli.main(ppo_args) == 0
    metrics = json.loads((tmp_path / "ppo" / "metrics.json").read_text())
    assert metrics["steps"] == 2
    assert (tmp_path / "ppo" / "reward_vs_kl.png").exists()
