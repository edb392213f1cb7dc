"""Mixed precision over fp32 master weights, gradient accumulation, saved dtypes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open

from training.core.data import RankingExample
from training.core.groups import encode_rankings
from training.core.loop import apply_update, make_optimizer
from training.core.models import load_policy, load_reward_model, save_model
from training.core.precision import resolve_precision
from training.core.reward import reward_step
from training.core.reward_config import RewardConfig
from training.core.rl_loop import rollouts_per_step
from training.core.rloo import train_rloo
from training.core.rloo_config import RLOOConfig
from training.core.sft import train_sft
from training.core.sft_config import SFTConfig
from training.tests.conftest import CPU
from training.tests.fixtures_rl import MAX_NEW_TOKENS, space_reward, write_prompts
from training.tests.gradients import assert_same_gradients, one_step_gradients

DEMOS = [
    {"prompt": f"Question {i}: what is {i} plus {i}?", "completion": f"It is {2 * i}."}
    for i in range(6)
]


def _sft(model_dir: Path, data: Path, out: Path, precision: str) -> dict[str, Any]:
    """Three SFT steps at lr 5e-6 (2 demos each); the final checkpoint's state."""
    config = SFTConfig(
        data=str(data),
        model=str(model_dir),
        out=str(out),
        batch_size=2,
        epochs=1,
        min_steps=3,
        eval_fraction=0.0,
        lr=5e-6,
        mixed_precision=precision,
        device="cpu",
    )
    train_sft(config)
    return torch.load(out / "checkpoint" / "state.pt", weights_only=False)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    model, _ = load_policy(folder, device=CPU, dtype=torch.float32)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_bf16_autocast_keeps_small_updates_and_tracks_the_fp32_loss(
    tiny_model_dir: Path, write_jsonl: Any, tmp_path: Path
) -> None:
    data = write_jsonl(DEMOS, "demos.jsonl")
    bf16 = _sft(tiny_model_dir, data, tmp_path / "bf16", "bf16")
    fp32 = _sft(tiny_model_dir, data, tmp_path / "fp32", "no")
    before = _weights(tiny_model_dir)
    # save_dtype auto: the tiny model's config says float32, so the file holds the
    # fp32 master weights as trained.
    after = _weights(tmp_path / "bf16")
    changed = sum((after[k] != before[k]).sum().item() for k in before)
    total = sum(v.numel() for v in before.values())
    assert bf16["step"] == 3
    assert changed / total >= 0.99
    for ours, reference in zip(bf16["history"], fp32["history"], strict=True):
        assert ours["loss"] == pytest.approx(reference["loss"], rel=0.02)


def _rankings() -> list[RankingExample]:
    return [
        RankingExample(
            f"Rank answers to question {i}.",
            [f"A good answer {i}.", f"An answer {i}", f"bad {i}"],
            [1, 2, 3],
        )
        for i in range(8)
    ]


def _reward_grads(
    model_dir: Path, out: Path, *, batch_size: int, accum: int
) -> dict[str, torch.Tensor]:
    """Gradients of one optimiser step over the same 8 rankings."""
    torch.manual_seed(0)  # the same random score head in both runs
    model, tokenizer = load_reward_model(model_dir, device=CPU, dtype=torch.float32)
    config = RewardConfig(
        data="unused.jsonl",
        out=str(out),
        batch_size=batch_size,
        grad_accum_steps=accum,
        epochs=1,
        min_steps=1,
        max_grad_norm=0.0,  # the gradients as summed, not clipped
        lr=1e-3,
        mixed_precision="no",
        device="cpu",
    )
    groups = encode_rankings(
        tokenizer, _rankings(), max_length=64, chat_template="auto"
    )
    return one_step_gradients(
        model,
        groups,
        reward_step(model, config, CPU),
        config,
        pad_token_id=tokenizer.pad_token_id,
    )


def test_four_micro_batches_of_two_give_the_gradients_of_one_batch_of_eight(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    whole = _reward_grads(tiny_model_dir, tmp_path / "a", batch_size=8, accum=1)
    parts = _reward_grads(tiny_model_dir, tmp_path / "b", batch_size=2, accum=4)
    assert_same_gradients(whole, parts)


def test_fp16_trains_with_a_loss_scaler_on_cpu(
    tiny_model_dir: Path, write_jsonl: Any, tmp_path: Path
) -> None:
    data = write_jsonl(DEMOS, "demos.jsonl")
    state = _sft(tiny_model_dir, data, tmp_path / "fp16", "fp16")
    assert state["step"] == 3
    assert state["scaler"]["scale"] > 0  # the scaler ran and was checkpointed
    after = _weights(tmp_path / "fp16")
    assert all(torch.isfinite(v).all() for v in after.values())


def test_a_step_with_inf_gradients_is_skipped_and_the_scale_lowered() -> None:
    model = torch.nn.Linear(2, 1)
    optimizer, scheduler = make_optimizer(
        model, lr=0.1, total_steps=10, warmup_fraction=0.0
    )
    precision = resolve_precision("fp16", CPU)
    assert precision.scaler is not None and precision.dtype == torch.float16
    before = model.weight.detach().clone()
    scale = precision.scaler.get_scale()
    with precision.autocast():
        loss = model(torch.tensor([[1.0, 2.0]])).sum() * float("inf")
    precision.backward(loss)
    apply_update(model, optimizer, scheduler, precision, max_grad_norm=1.0)
    assert torch.equal(model.weight, before)
    assert precision.scaler.get_scale() == scale / 2
    assert scheduler.last_epoch == 0  # the schedule waits for a real step


def test_save_dtype_casts_the_file_but_not_the_live_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    model, tokenizer = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    config = SFTConfig(data="x", model=str(tiny_model_dir), save_dtype="bfloat16")
    save_model(model, tokenizer, tmp_path / "bf16", config=config)
    with safe_open(tmp_path / "bf16" / "model.safetensors", "pt") as file:
        dtypes = {file.get_tensor(key).dtype for key in file.keys()}  # noqa: SIM118
    assert dtypes == {torch.bfloat16}
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["dtype"] == (
        "bfloat16"
    )
    reloaded, _ = load_policy(tmp_path / "bf16", device=CPU, dtype=torch.float32)
    for (name, ours), theirs in zip(
        model.state_dict().items(), reloaded.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(theirs, ours.to(torch.bfloat16).float(), msg=name)


def test_auto_precision_is_off_on_cpu_and_frozen_models_stay_fp32() -> None:
    precision = resolve_precision("auto", CPU)
    assert precision.dtype is None and precision.scaler is None
    assert resolve_precision("bf16", CPU).frozen_dtype == torch.bfloat16
    with pytest.raises(ValueError, match="mixed_precision"):
        resolve_precision("fp8", CPU)


def test_rloo_accumulates_rollouts_into_one_optimiser_step(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = RLOOConfig(
        data=str(write_prompts(tmp_path, 4)),
        model=str(tiny_model_dir),
        out=str(tmp_path / "out"),
        device="cpu",
        batch_size=2,  # 2 rollouts of 2 prompts per epoch
        grad_accum_steps=2,
        k=2,
        epochs=2,
        min_steps=0,
        max_new_tokens=MAX_NEW_TOKENS,
        checkpoint_every=0,
    )
    history = train_rloo(config, reward_fn=space_reward).metrics["history"]
    # A step is one update over both rollouts: 2 steps of 2 prompts x k=2 x 2.
    assert [row["samples"] for row in history] == [8.0, 8.0]


def test_ppo_accumulation_must_divide_its_mini_batches() -> None:
    with pytest.raises(ValueError, match="grad_accum_steps: PPO .* = 4, got 3"):
        rollouts_per_step(3, 4)
    assert rollouts_per_step(2, 4) == 1 and rollouts_per_step(3, 1) == 3
