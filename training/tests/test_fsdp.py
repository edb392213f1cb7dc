"""--fsdp: 2 processes under torchrun (gloo), sharded with FSDP2, match 1 unsharded.

Tolerance 1e-5 (absolute) on losses and weights, as for data-parallel training: the
ranks reduce-scatter two half-batch gradients where one process sums the whole batch
in one backward, and a sharded forward takes whole rows where one process forwards a
shared prompt once, so fp32 sums run in another order (relative differences ~1e-7);
AdamW's normalised steps at lr ~1e-3 carry that to the weights as at most ~5e-6.
Under fp16 autocast each rank's weight gradient is rounded to fp16 (2^-11) before the
ranks sum them, as under DDP, so 2 ranks match 1 to FP16_TOLERANCE (measured: losses
2e-5, weights 2.4e-4 after 3 steps; DDP's differ from 1 process as much).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from training import cli
from training.core import distributed, dpo, recipe
from training.core.dpo_config import DPOConfig
from training.core.loop import CHECKPOINT_FILE
from training.core.reward_config import RewardConfig
from training.tests.fixtures_training import synthetic_pairs, synthetic_rankings

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5  # see the module docstring
FP16_TOLERANCE = {"loss": 1e-4, "weights": 1e-3}  # see the module docstring


def _torchrun(args: list[str]) -> dict[str, Any]:
    """Run `python -m training ARGS` on 2 processes; the metrics rank 0 prints."""
    # --standalone: the rendezvous picks its own free port, so no other test's
    # launch can take it between choosing and binding.
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launch += ["--nproc-per-node", "2", "-m", "training"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [*launch, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(json.loads(done.stdout))


def _history(out: Path) -> list[dict[str, float]]:
    """The loss history the run's checkpoint keeps, one row per optimiser step."""
    checkpoint = torch.load(out / "checkpoint" / CHECKPOINT_FILE, weights_only=False)
    return list(checkpoint["history"])


def _assert_same_training(
    one: Path, two: Path, *, loss: float = TOLERANCE, weights: float = TOLERANCE
) -> None:
    """The same loss history, saved files and weights, within the tolerances."""
    history_one, history_two = _history(one), _history(two)
    assert [row["step"] for row in history_two] == [row["step"] for row in history_one]
    for row_one, row_two in zip(history_one, history_two, strict=True):
        assert row_two["loss"] == pytest.approx(row_one["loss"], abs=loss)
    # Saved as one process saves it: the same files, config and weight names.
    files = sorted(path.name for path in one.iterdir())
    assert sorted(path.name for path in two.iterdir()) == files
    config_one = json.loads((one / "config.json").read_text())
    assert json.loads((two / "config.json").read_text()) == config_one
    weights_one = load_file(one / "model.safetensors")
    weights_two = load_file(two / "model.safetensors")
    assert weights_two.keys() == weights_one.keys()
    for name, tensor in weights_one.items():
        torch.testing.assert_close(weights_two[name], tensor, atol=weights, rtol=0)


def _dpo_command(data: Path, model: Path, precision: str) -> list[str]:
    """A short DPO run on the CPU: one epoch, a fifth held out."""
    command = ["dpo", "--data", str(data), "--model", str(model)]
    command += ["--epochs", "1", "--min-steps", "0", "--eval-fraction", "0.2"]
    return [*command, "--device", "cpu", "--mixed-precision", precision]


def test_fsdp_dpo_with_checkpointing_matches_one_process(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    # 13 pairs: 3 held out, 10 in global micro-batches of 4 (the last: 1 per rank);
    # the reference precompute's one batch of 13 leaves rank 1 a repeated one.
    data = write_jsonl(synthetic_pairs(13), "pairs.jsonl")
    one, two = tmp_path / "one", tmp_path / "two"
    common = _dpo_command(data, tiny_model_dir, "no")

    assert cli.main([*common, "--out", str(one), "--batch-size", "4"]) == 0
    sharded = ["--fsdp", "--gradient-checkpointing", "--batch-size", "2"]
    metrics_two = _torchrun([*common, "--out", str(two), *sharded])

    metrics_one = json.loads((one / "metrics.json").read_text())
    assert (metrics_one["world_size"], metrics_two["world_size"]) == (1, 2)
    assert metrics_one["steps"] == metrics_two["steps"] == 3
    for key in ("eval_loss", "eval_logp_margin_before", "eval_logp_margin_after"):
        assert metrics_two[key] == pytest.approx(metrics_one[key], abs=1e-4)
    _assert_same_training(one, two)
    model = AutoModelForCausalLM.from_pretrained(two)
    reference = AutoModelForCausalLM.from_pretrained(one)
    ids = torch.tensor([[1, 7, 42, 99, 5]])
    torch.testing.assert_close(
        model(ids).logits, reference(ids).logits, atol=1e-4, rtol=0
    )


def test_fsdp_fp16_keeps_fp32_master_shards_and_tracks_one_process(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_pairs(13), "pairs.jsonl")
    one, two = tmp_path / "one", tmp_path / "two"
    # A separate reference model, sharded like the policy for its precompute.
    reference = ["--ref-model", str(tiny_model_dir)]
    common = [*_dpo_command(data, tiny_model_dir, "fp16"), *reference]

    assert cli.main([*common, "--out", str(one), "--batch-size", "4"]) == 0
    _torchrun([*common, "--out", str(two), "--fsdp", "--batch-size", "2"])

    _assert_same_training(one, two, **FP16_TOLERANCE)
    path = Path("checkpoint") / CHECKPOINT_FILE
    sharded = torch.load(two / path, weights_only=False)
    assert {weight.dtype for weight in sharded["model"].values()} == {torch.float32}
    # The loss scaler took the same steps: no rank skipped one the others took.
    assert sharded["scaler"] == torch.load(one / path, weights_only=False)["scaler"]


def test_fsdp_reward_matches_one_process_and_resumes_from_its_checkpoint(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    # 14 rankings of 4 in global micro-batches of 4, 2 per step: steps of (4 + 4)
    # and (4 + 2) rankings; the tiny Llama's score head has no bias, so folding the
    # mean reward out moves its (sharded) weight.
    data = write_jsonl(synthetic_rankings(14), "rankings.jsonl")
    one, two = tmp_path / "one", tmp_path / "two"
    common = ["reward", "--data", str(data), "--model", str(tiny_model_dir)]
    common += ["--min-steps", "0", "--eval-fraction", "0", "--grad-accum-steps", "2"]
    common += ["--device", "cpu", "--mixed-precision", "no"]
    unsharded = [*common, "--out", str(one), "--batch-size", "4"]
    sharded = [*common, "--out", str(two), "--batch-size", "2", "--fsdp"]

    assert cli.main([*unsharded, "--epochs", "1"]) == 0
    metrics_two = _torchrun([*sharded, "--epochs", "1"])
    metrics_one = json.loads((one / "metrics.json").read_text())
    assert metrics_two["reward_offset"] == pytest.approx(
        metrics_one["reward_offset"], abs=TOLERANCE
    )
    _assert_same_training(one, two)
    first_steps = _history(two)

    # A second epoch from each one's checkpoint (the sharded run's gathered whole).
    assert cli.main([*unsharded, "--epochs", "2", "--resume"]) == 0
    resumed = _torchrun([*sharded, "--epochs", "2", "--resume"])

    assert resumed["steps"] == 4
    assert _history(two)[:2] == first_steps
    _assert_same_training(one, two)
    scorer = AutoModelForSequenceClassification.from_pretrained(two)
    assert scorer.config.num_labels == 1


def test_fsdp_on_one_process_trains_unsharded(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_rankings(8), "rankings.jsonl")
    common = ["sft", "--data", str(data), "--model", str(tiny_model_dir)]
    common += ["--epochs", "1", "--min-steps", "0", "--eval-fraction", "0"]
    common += ["--device", "cpu", "--mixed-precision", "no", "--batch-size", "4"]

    assert cli.main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert cli.main([*common, "--out", str(tmp_path / "fsdp"), "--fsdp"]) == 0

    plain = load_file(tmp_path / "plain" / "model.safetensors")
    fsdp = load_file(tmp_path / "fsdp" / "model.safetensors")
    assert all(torch.equal(fsdp[name], tensor) for name, tensor in plain.items())


def test_lora_refuses_fsdp_over_several_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recipe, "world_size", lambda: 2)
    with pytest.raises(ValueError, match="lora: not supported with --fsdp"):
        recipe.uses_fsdp(RewardConfig(data="d.jsonl", fsdp=True, lora=True))
    assert recipe.uses_fsdp(RewardConfig(data="d.jsonl", fsdp=True))
    assert not recipe.uses_fsdp(RewardConfig(data="d.jsonl"))


def test_online_sampling_refuses_a_sharded_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dpo, "is_sharded", lambda model: True)
    config = DPOConfig(data="d.jsonl", online_samples=4, reward_model="rm", fsdp=True)
    with pytest.raises(ValueError, match="online_samples: not supported with --fsdp"):
        dpo.online_rankings(object(), object(), [], config, torch.device("cpu"))


def test_split_map_gives_every_rank_as_many_items(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    seen: dict[int, list[int]] = {}

    def square(rank: int) -> Any:
        def fn(items: list[int]) -> list[int]:
            seen[rank] = items
            return [x * x for x in items]

        return fn

    for rank in (0, 1):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        monkeypatch.setattr(distributed, "gather", lambda value: [value, value])
        distributed.split_map(square(rank), [1, 2, 3])
    # Rank 1 repeats the first item, so both ranks forward twice.
    assert seen == {0: [1, 3], 1: [2, 1]}

    parts = [[1, 9], [4, 1]]
    monkeypatch.setattr(distributed, "gather", lambda value: parts)
    assert distributed.split_map(square(0), [1, 2, 3]) == [1, 4, 9]
