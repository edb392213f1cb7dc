"""Memory: the adapter-free LoRA reference, saving without a copy, lean sampling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from training.core import rloo, rollout
from training.core.batching import Batch, collate, encode_prompt
from training.core.generation import (
    SamplingSettings,
    _eos_ids,
    _generation_config,
    generate,
)
from training.core.models import load_policy, load_reward_model, save_model
from training.core.recipe import load_trainable
from training.core.rloo import train_rloo
from training.core.rloo_config import RLOOConfig
from training.core.rollout import Reference, policy_logprobs
from training.core.sft import train_sft
from training.core.sft_config import SFTConfig
from training.core.train_config import LoraSettings
from training.tests.fixtures_rl import MAX_NEW_TOKENS, space_reward, write_prompts


def _lora_rloo_config(model: Path, tmp_path: Path, steps: int) -> RLOOConfig:
    """A short LoRA RLOO run with a learning rate that moves the adapters."""
    return RLOOConfig(
        data=str(write_prompts(tmp_path, 2)),
        model=str(model),
        out=str(tmp_path / "out"),
        device="cpu",
        batch_size=2,
        k=2,
        epochs=steps,
        min_steps=0,
        max_new_tokens=MAX_NEW_TOKENS,
        lr=1e-2,
        warmup_fraction=0.0,
        checkpoint_every=0,
        lora=True,
    )


def test_lora_rloo_reference_is_the_base_model_loaded_once(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Any] = []
    calls: list[tuple[Reference, Batch, torch.Tensor]] = []

    def counting_load(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load_policy(*args, **kwargs)

    def recording_logprobs(
        self: Reference, tokens: Batch, temperature: float
    ) -> torch.Tensor:
        result = reference_logprobs(self, tokens, temperature)
        calls.append((self, tokens, result))
        return result

    reference_logprobs = Reference.logprobs
    monkeypatch.setattr(rloo, "load_policy", counting_load)
    monkeypatch.setattr(rollout, "load_policy", counting_load)
    monkeypatch.setattr(Reference, "logprobs", recording_logprobs)
    train_rloo(_lora_rloo_config(tiny_model_dir, tmp_path, 3), reward_fn=space_reward)

    assert len(loads) == 1 and len(calls) == 3
    reference, tokens, ref_logprobs = calls[-1]  # after two training steps
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        expected, _ = policy_logprobs(base.eval(), tokens, 1.0)
        trained, _ = policy_logprobs(reference.model, tokens, 1.0)
    mask = tokens.completion_mask[:, 1:].bool()
    assert torch.allclose(ref_logprobs[mask], expected[mask], atol=1e-5)
    # The adapters did move, so the match is not just an untrained policy.
    assert (trained[mask] - expected[mask]).abs().max() > 1e-3


def test_lora_saved_mid_training_is_the_merged_model_and_training_goes_on(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model, tokenizer = load_policy(
        tiny_model_dir, device=torch.device("cpu"), lora=LoraSettings(r=4)
    )
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.5)
    ids = tokenizer(["The cat sat on the mat."], return_tensors="pt").input_ids

    def train_step() -> None:
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    train_step()
    folder = save_model(model, tokenizer, tmp_path / "saved")
    loaded: Any = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, output_loading_info=True
    )
    plain, info = loaded
    assert not info["missing_keys"] and not info["unexpected_keys"]
    with torch.no_grad():
        ours = model.eval()(input_ids=ids).logits
        theirs = plain.eval()(input_ids=ids).logits
    assert torch.allclose(ours, theirs, atol=1e-5)
    assert not torch.allclose(ours, _base_logits(tiny_model_dir, ids), atol=1e-3)
    # The live model is untouched: still peft, adapters unmerged and training.
    assert isinstance(model, PeftModel)
    before = [p.detach().clone() for p in trainable]
    train_step()
    assert all(not torch.equal(b, p) for b, p in zip(before, trainable, strict=True))


def _base_logits(model_dir: Path, ids: torch.Tensor) -> torch.Tensor:
    """Logits of the untouched base model."""
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    with torch.no_grad():
        return base.eval()(input_ids=ids).logits


def test_sampled_logprobs_equal_those_of_all_raw_logits(
    policy: tuple[Any, Any],
) -> None:
    model, tokenizer = policy
    prompts = ["Tell me a joke about cats.", "Hi"]
    settings = SamplingSettings(temperature=0.8, top_p=0.9, max_new_tokens=12)
    out = generate(
        model, tokenizer, prompts, chat_template="auto", k=2, seed=5, **vars(settings)
    )
    ours = [g for row in out for g in row]
    # The former way: keep every step's raw logits, (B, N, V), then gather.
    rows = [
        encode_prompt(tokenizer, p, chat_template="auto")
        for p in prompts
        for _ in range(2)
    ]
    encodings = [(r, [0] * len(r)) for r in rows]
    pad = tokenizer.pad_token_id
    batch = collate(encodings, pad_token_id=pad, padding_side="left")
    config = _generation_config(settings, tokenizer, _eos_ids(model, tokenizer))
    config.output_logits = True
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(5)
        full = model.eval().generate(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            generation_config=config,
        )
    new = full.sequences[:, batch.input_ids.shape[1] :]  # (B, N)
    logits = torch.stack(full.logits, dim=1).float()  # (B, N, V)
    logprobs = logits.log_softmax(-1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
    for i, g in enumerate(ours):
        assert list(g.token_ids) == new[i, : g.n_tokens].tolist()
        expected = logprobs[i, : g.n_tokens].sum().item()
        assert g.logprob == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    ("precision", "base"), [("bf16", torch.bfloat16), ("no", torch.float32)]
)
@pytest.mark.parametrize("loader", ["policy", "reward"])
def test_a_lora_base_loads_as_frozen_models_do_and_what_trains_is_fp32(
    tiny_model_dir: Path, precision: str, base: torch.dtype, loader: str
) -> None:
    config = SFTConfig(
        data="unused.jsonl",
        model=str(tiny_model_dir),
        out="unused",
        lora=True,
        mixed_precision=precision,
        device="cpu",
    )
    load = {"policy": load_policy, "reward": load_reward_model}[loader]
    model, _ = load_trainable(load, config, torch.device("cpu"))
    frozen = {p.dtype for p in model.parameters() if not p.requires_grad}
    trained = {n: p.dtype for n, p in model.named_parameters() if p.requires_grad}
    assert frozen == {base}
    assert set(trained.values()) == {torch.float32}
    # The reward model's score head trains too, copied from the base: fp32 as well.
    assert any("score" in n for n in trained) == (loader == "reward")


def test_sft_with_lora_under_bf16_trains_and_saves_the_merged_model(
    tiny_model_dir: Path, tmp_path: Path, write_jsonl: Any
) -> None:
    data = write_jsonl(
        [{"prompt": f"Say {w}.", "completion": f" {w} {w}"} for w in ("hi", "yes")]
    )
    config = SFTConfig(
        data=str(data),
        model=str(tiny_model_dir),
        out=str(tmp_path / "out"),
        lora=True,
        mixed_precision="bf16",
        device="cpu",
        epochs=2,
        min_steps=0,
        eval_fraction=0.0,
        lr=1e-2,
    )
    result = train_sft(config)
    assert result.metrics["steps"] == 2
    saved = AutoModelForCausalLM.from_pretrained(tmp_path / "out", dtype=torch.float32)
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():
        trained = saved.eval()(input_ids=ids).logits
    # The adapters moved the merged weights away from the base's.
    assert not torch.allclose(trained, _base_logits(tiny_model_dir, ids), atol=1e-3)
