"""Sampling K completions per prompt: stopping, log-probs, seeds, greedy."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

import pytest
import torch

from training.core.batching import collate, encode_prompt
from training.core.generation import Generation, generate
from training.core.logprobs import sequence_logprobs

PROMPTS: list[Any] = [
    "Tell me a joke about cats.",
    [{"role": "user", "content": "What is two plus two?"}],
    "Hi",
]


def _favour_eos(model: Any, eos_id: int, boost: float = 4.0) -> None:
    # A random model almost never says EOS; a bias on its logit makes it stop early.
    def hook(module: Any, args: Any, output: torch.Tensor) -> torch.Tensor:
        bias = torch.zeros(output.shape[-1])
        bias[eos_id] = boost
        return output + bias

    model.lm_head.register_forward_hook(hook)


def test_k_samples_per_prompt(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    out = generate(
        model,
        tok,
        PROMPTS,
        chat_template="auto",
        k=3,
        max_new_tokens=5,
        batch_size=4,
        seed=0,
    )
    assert [len(samples) for samples in out] == [3, 3, 3]
    sample = out[0][0]
    assert isinstance(sample, Generation) and 1 <= sample.n_tokens <= 5
    assert len(sample.token_ids) == sample.n_tokens
    with pytest.raises(FrozenInstanceError):
        sample.text = "changed"  # type: ignore[misc]


def test_stops_at_eos_and_logprobs_match_recomputation(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    _favour_eos(model, tok.eos_token_id)
    out = generate(
        model,
        tok,
        PROMPTS,
        chat_template="auto",
        k=3,
        max_new_tokens=30,
        batch_size=4,
        seed=1,
    )
    samples = [(p, g) for p, row in zip(PROMPTS, out, strict=True) for g in row]
    finished = [g for _, g in samples if g.finished]
    assert finished and len({g.n_tokens for g in finished}) > 1  # ragged lengths
    for g in finished:
        assert g.token_ids[-1] == tok.eos_token_id
        assert tok.eos_token_id not in g.token_ids[:-1]
    encodings = []
    for prompt, g in samples:
        ids = encode_prompt(tok, prompt, chat_template="auto")
        encodings.append((ids + list(g.token_ids), [0] * len(ids) + [1] * g.n_tokens))
    with torch.no_grad():
        sums, counts = sequence_logprobs(
            model, collate(encodings, pad_token_id=tok.pad_token_id)
        )
    assert counts.tolist() == [g.n_tokens for _, g in samples]
    expected = torch.tensor([g.logprob for _, g in samples])
    assert torch.allclose(sums, expected, atol=1e-4)


def test_same_seed_same_samples(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    settings: dict[str, Any] = {"k": 2, "max_new_tokens": 6, "seed": 3}
    first = generate(model, tok, PROMPTS[:2], chat_template="auto", **settings)
    state = torch.random.get_rng_state()
    again = generate(model, tok, PROMPTS[:2], chat_template="auto", **settings)
    assert first == again
    assert torch.equal(state, torch.random.get_rng_state())  # caller's RNG untouched


def test_temperature_zero_is_greedy(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    [samples] = generate(
        model,
        tok,
        PROMPTS[:1],
        chat_template="auto",
        k=2,
        temperature=0,
        max_new_tokens=4,
    )
    # The same tokens; their log-prob may differ in the last float digits between
    # rows of one batch (a batched matmul need not sum in the same order per row).
    assert samples[0].token_ids == samples[1].token_ids
    assert samples[0].text == samples[1].text
    assert samples[0].logprob == pytest.approx(samples[1].logprob, abs=1e-4)
    prompt = torch.tensor([encode_prompt(tok, PROMPTS[0], chat_template="auto")])
    with torch.no_grad():
        first = int(model(input_ids=prompt).logits[0, -1].argmax())
    assert samples[0].token_ids[0] == first
