"""Completion log-probs against a token-by-token hand loop, and the reference cache."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from training.core import logprobs as logprobs_module
from training.core.batching import Encoding, Text, collate, encode_prompt_completion
from training.core.logprobs import (
    cache_key,
    completion_token_logprobs,
    reference_logprobs_cached,
    sequence_logprobs,
    token_logprobs,
)
from training.core.models import load_policy, save_model

PAIRS: list[tuple[Text, Text]] = [
    ("Say hi.", " Hi!"),
    ("What is two plus two? Answer briefly.", " Four."),
    ([{"role": "user", "content": "Joke?"}], [{"role": "assistant", "content": "No."}]),
]


def _encodings(
    tokenizer: Any, pairs: list[tuple[Text, Text]] = PAIRS
) -> list[Encoding]:
    # Raw text, so the empty prompt of SHARED stays one token (its BOS).
    return [
        encode_prompt_completion(tokenizer, p, c, chat_template="never", max_length=64)
        for p, c in pairs
    ]


def _hand_loop(model: Any, ids: list[int], mask: list[int]) -> float:
    # One unpadded sequence; add log p(token t | prefix) for each completion token.
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]  # (T, V)
    logp = torch.log_softmax(logits.double(), dim=-1)
    return sum(float(logp[t - 1, ids[t]]) for t in range(1, len(ids)) if mask[t])


def test_token_logprobs_is_shifted_log_softmax() -> None:
    logits = torch.randn(2, 5, 7)
    ids = torch.randint(0, 7, (2, 5))
    expected = torch.log_softmax(logits, -1)[:, :-1].gather(-1, ids[:, 1:, None])
    assert torch.allclose(token_logprobs(logits, ids), expected[..., 0], atol=1e-6)


@pytest.mark.parametrize("side", ["right", "left"])
def test_sequence_logprobs_match_hand_loop(policy: tuple[Any, Any], side: str) -> None:
    model, tok = policy
    encodings = _encodings(tok)
    batch = collate(encodings, pad_token_id=tok.pad_token_id, padding_side=side)
    assert batch.attention_mask.sum() < batch.attention_mask.numel()  # real padding
    with torch.no_grad():
        sums, counts = sequence_logprobs(model, batch)
        chunked, _ = sequence_logprobs(model, batch, chunk_size=2)
    expected = torch.tensor(
        [_hand_loop(model, ids, m) for ids, m in encodings], dtype=torch.float64
    )
    assert torch.allclose(sums.double(), expected, atol=1e-4)
    assert torch.allclose(chunked, sums, atol=1e-5)
    assert counts.tolist() == [sum(m) for _, m in encodings]


# Two completions per prompt, of different lengths, and a one-token (BOS) prompt whose
# prefix before its last token is empty.
SHARED: list[tuple[Text, Text]] = [
    ("Say hi.", " Hi!"),
    ("What is two plus two? Answer briefly.", " Four."),
    ("Say hi.", " Hello there, friend."),
    ("What is two plus two? Answer briefly.", " It is four, of course."),
    ("", " Hi!"),
    ("", " Bye."),
]


@pytest.mark.parametrize("side", ["right", "left"])
def test_rows_sharing_a_prompt_match_separate_forwards(
    policy: tuple[Any, Any], side: str
) -> None:
    model, tok = policy
    encodings = _encodings(tok, SHARED)
    batch = collate(encodings, pad_token_id=tok.pad_token_id, padding_side=side)
    with torch.no_grad():
        sums, counts = sequence_logprobs(model, batch)
    expected = torch.tensor(
        [_hand_loop(model, ids, m) for ids, m in encodings], dtype=torch.float64
    )
    assert torch.allclose(sums.double(), expected, atol=1e-4)
    assert counts.tolist() == [sum(m) for _, m in encodings]


def test_shared_prompt_gradients_match_full_sequences(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    encodings = _encodings(tok, SHARED)
    batch = collate(encodings, pad_token_id=tok.pad_token_id)
    weights = torch.linspace(-1, 1, len(batch))  # every row's gradient counts
    grads = []
    for forward in (_full_sequence_sums, lambda m, b: sequence_logprobs(m, b)[0]):
        model.zero_grad()
        (forward(model, batch) * weights).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for full, shared in zip(*grads, strict=True):
        assert torch.allclose(full, shared, atol=1e-5)


def _full_sequence_sums(model: Any, batch: Any) -> torch.Tensor:
    """Summed completion log-probs from one forward over whole rows."""
    logprobs, mask = completion_token_logprobs(model, batch)
    return (logprobs * mask).sum(-1)


def test_sequence_logprobs_carry_gradients(policy: tuple[Any, Any]) -> None:
    model, tok = policy
    sums, _ = sequence_logprobs(model, collate(_encodings(tok), pad_token_id=0))
    sums.sum().backward()
    assert model.get_input_embeddings().weight.grad is not None


def test_reference_logprobs_are_cached_by_model_and_data(
    policy: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tok = policy
    encodings = _encodings(tok)
    batches = [
        collate(encodings[:2], pad_token_id=0),
        collate(encodings[2:], pad_token_id=0),
    ]
    first = reference_logprobs_cached(model, batches, tmp_path)
    assert len(list(tmp_path.glob("ref-logprobs-*.pt"))) == 1
    assert [s.shape for s, _ in first] == [(2,), (1,)]
    assert not first[0][0].requires_grad

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("recomputed despite the cache")

    monkeypatch.setattr(logprobs_module, "sequence_logprobs", must_not_run)
    again = reference_logprobs_cached(model, batches, tmp_path)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    monkeypatch.undo()
    reference_logprobs_cached(model, batches[:1], tmp_path)  # other data, other key
    assert len(list(tmp_path.glob("ref-logprobs-*.pt"))) == 2
    uncached = reference_logprobs_cached(model, batches, None)
    assert torch.allclose(uncached[1][0], first[1][0])


def test_cache_key_changes_when_model_folder_is_rewritten(
    policy: tuple[Any, Any], tmp_path: Path
) -> None:
    model, tok = policy
    folder = save_model(model, tok, tmp_path / "ref")
    reloaded, _ = load_policy(folder, device=torch.device("cpu"))
    batches = [collate(_encodings(tok), pad_token_id=0)]
    before = cache_key(reloaded, batches)
    assert cache_key(reloaded, batches) == before
    weights = folder / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 1))
    assert cache_key(reloaded, batches) != before
    assert cache_key(model, batches) != before  # another model, another key
