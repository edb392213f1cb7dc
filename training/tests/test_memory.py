"""Memory savers: gradient checkpointing keeps DPO's loss and gradients; chunked
log-probs equal the whole-vocabulary reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from training import cli
from training.core.batching import share_prompts
from training.core.data import RankingExample
from training.core.dpo import attach_reference, dpo_step, make_objective
from training.core.dpo_config import DPOConfig
from training.core.groups import collate_groups, encode_rankings
from training.core.logprobs import token_logprobs
from training.core.memory import checkpoints_now, prepare_for_training
from training.core.models import load_policy
from training.tests.conftest import CPU
from training.tests.fixtures_training import synthetic_pairs

# Each prompt ranks three completions: their rows share it in one batch.
RANKINGS = [
    RankingExample("Say hi.", ["hi", "hello there", "go away"], [2, 1, 3]),
    RankingExample("Count to three.", ["one two three", "1 2 3", "uno"], [1, 2, 3]),
]


def _reference_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The unchunked definition: full log-softmax, shifted by one."""
    logp = torch.log_softmax(logits.float(), dim=-1)[:, :-1]  # (B, T-1, V)
    return logp.gather(-1, ids[:, 1:, None])[..., 0]  # (B, T-1)


@pytest.mark.parametrize("chunk", [1, 4, 5, 1024])
def test_chunked_logprobs_equal_the_whole_vocabulary_softmax(chunk: int) -> None:
    generator = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(2, 9, 50, generator=generator)).requires_grad_()
    ids = torch.randint(0, 50, (2, 9), generator=generator)
    weights = torch.randn(2, 8, generator=generator)
    # chunk 5 over 2 rows: slices of 2 positions, a boundary inside every completion.
    got = token_logprobs(logits, ids, chunk=chunk)
    (grad,) = torch.autograd.grad((got * weights).sum(), logits)
    expected = _reference_logprobs(logits, ids)
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), logits)
    assert got.shape == (2, 8)
    assert torch.allclose(got, expected, atol=1e-6)
    assert torch.allclose(grad, expected_grad, atol=1e-6)


def test_chunked_logprobs_of_a_real_model_match_to_1e_6(
    policy: tuple[Any, Any],
) -> None:
    model, tok = policy
    ids = torch.tensor(
        [tok("What is two plus two? Two plus two is four.")["input_ids"]]
    )
    with torch.no_grad():
        logits = model(input_ids=ids).logits  # (1, T, V)
    expected = _reference_logprobs(logits, ids)
    assert ids.shape[1] > 4  # slices of 3 split the sequence
    assert torch.allclose(token_logprobs(logits, ids, chunk=3), expected, atol=1e-6)


def _dpo_loss_and_grads(
    tiny_model_dir: Path, tmp_path: Path, *, checkpointing: bool
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """One DPO step's loss and gradients, from a fresh copy of the tiny model."""
    config = DPOConfig(
        out=str(tmp_path), gradient_checkpointing=checkpointing, beta=0.5
    )
    model, tokenizer = load_policy(tiny_model_dir, device=CPU, dtype=torch.float32)
    model = prepare_for_training(model, config)
    pad = tokenizer.pad_token_id
    groups = encode_rankings(tokenizer, RANKINGS, max_length=64, chat_template="auto")
    groups = attach_reference(groups, model, config, pad_token_id=pad)
    with torch.no_grad():  # away from the reference, so the log-ratios are not zero
        generator = torch.Generator().manual_seed(1)
        for param in model.parameters():
            param.add_(0.02 * torch.randn(param.shape, generator=generator))
    model.train()
    batch = collate_groups(groups, pad_token_id=pad)
    assert share_prompts(batch.tokens) is not None  # the shared-prompt path applies
    assert checkpoints_now(model) == checkpointing
    loss, _ = dpo_step(model, make_objective(config), CPU)(batch)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def test_checkpointing_gives_the_same_dpo_loss_and_gradients(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    plain, plain_grads = _dpo_loss_and_grads(
        tiny_model_dir, tmp_path / "a", checkpointing=False
    )
    saved, saved_grads = _dpo_loss_and_grads(
        tiny_model_dir, tmp_path / "b", checkpointing=True
    )
    assert float(plain) > 0
    assert torch.allclose(saved, plain, atol=1e-5)
    for got, expected in zip(saved_grads, plain_grads, strict=True):
        assert torch.allclose(got, expected, atol=1e-5)


def test_dpo_cli_trains_with_gradient_checkpointing(
    write_jsonl: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    data = write_jsonl(synthetic_pairs(12), "pairs.jsonl")
    out = tmp_path / "out"
    args = ["dpo", "--data", str(data), "--model", str(tiny_model_dir)]
    args += ["--out", str(out), "--min-steps", "0", "--epochs", "1"]
    args += ["--batch-size", "4", "--device", "cpu", "--gradient-checkpointing"]
    assert cli.main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] >= 1


def test_checkpointing_trains_lora_adapters(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = DPOConfig(out=str(tmp_path), gradient_checkpointing=True, lora=True)
    model, tok = load_policy(
        tiny_model_dir, device=CPU, dtype=torch.float32, lora=config.lora_settings()
    )
    model = prepare_for_training(model, config).train()
    assert checkpoints_now(model)
    ids = torch.tensor([tok("Say hi. Hi!")["input_ids"]])
    token_logprobs(model(input_ids=ids).logits, ids).sum().backward()
    lora_grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_grads and all(g is not None and g.abs().sum() > 0 for g in lora_grads)
