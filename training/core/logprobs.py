"""Log-probs of completions under a causal LM; a cache for the reference's."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from training.core.batching import Batch, position_ids_from_mask

LogprobSums = tuple[torch.Tensor, torch.Tensor]  # (summed log-probs (B,), counts (B,))


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """log p(token t | tokens < t) for t = 1..T-1: logits (B, T, V) -> (B, T-1)."""
    logits = logits[:, :-1].float()  # (B, T-1, V): position t predicts token t+1
    targets = input_ids[:, 1:].unsqueeze(-1)  # (B, T-1, 1)
    picked = logits.gather(-1, targets).squeeze(-1)  # (B, T-1)
    # logsumexp instead of log_softmax avoids a second (B, T-1, V) tensor.
    return picked - torch.logsumexp(logits, dim=-1)  # (B, T-1)


def completion_token_logprobs(
    model: Any, batch: Batch
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs (B, T-1) and the 0/1 mask of completion tokens (B, T-1)."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids_from_mask(batch.attention_mask),
        use_cache=False,
    )
    logprobs = token_logprobs(out.logits, batch.input_ids)  # (B, T-1)
    return logprobs, completion_targets(batch).to(logprobs.dtype)


def completion_targets(batch: Batch) -> torch.Tensor:
    """1 where the predicted token (shifted by one) is a real completion token."""
    return batch.completion_mask[:, 1:] * batch.attention_mask[:, 1:]  # (B, T-1)


def sequence_logprobs(
    model: Any, batch: Batch, *, chunk_size: int | None = None
) -> LogprobSums:
    """Summed completion log-probs (B,) and completion token counts (B,)."""
    step = chunk_size or len(batch)
    sums = []
    # Rows in chunks bound the peak (rows, T, V) logits tensor on long vocabularies.
    for start in range(0, len(batch), step):
        rows = slice(start, start + step)
        chunk = Batch(
            batch.input_ids[rows],
            batch.attention_mask[rows],
            batch.completion_mask[rows],
        )
        logprobs, mask = completion_token_logprobs(model, chunk)
        sums.append((logprobs * mask).sum(-1))  # (rows,)
    return torch.cat(sums), completion_targets(batch).sum(-1)


@torch.no_grad()
def reference_logprobs_cached(
    model: Any,
    batches: Sequence[Batch],
    cache_dir: Path | None = None,
    *,
    chunk_size: int | None = None,
) -> list[LogprobSums]:
    """Reference (sums, counts) per batch on CPU, computed once and cached on disk."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"ref-logprobs-{cache_key(model, batches)}.pt"
        if path.is_file():
            return torch.load(path)
    device = next(model.parameters()).device
    results = []
    with eval_mode(model):  # the reference never uses dropout
        for batch in batches:
            sums, counts = sequence_logprobs(
                model, batch.to(device), chunk_size=chunk_size
            )
            results.append((sums.float().cpu(), counts.cpu()))
    if path is not None:
        _save_atomically(results, path)
    return results


@contextlib.contextmanager
def eval_mode(model: Any) -> Iterator[Any]:
    """Run with dropout off, then restore the model's train/eval mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def cache_key(model: Any, batches: Sequence[Batch]) -> str:
    """Hash of the model's identity (folder, files, dtype) and the batches' tokens."""
    digest = hashlib.sha256(model_fingerprint(model).encode())
    for batch in batches:
        for tensor in (batch.input_ids, batch.attention_mask, batch.completion_mask):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.cpu().long().numpy().tobytes())
    return digest.hexdigest()[:32]


def model_fingerprint(model: Any) -> str:
    """Name/path of the model, plus sizes and times of its weight files if local."""
    name = str(getattr(model, "name_or_path", "") or "")
    parts = [name, str(getattr(model, "dtype", ""))]
    folder = Path(name)
    if name and folder.is_dir():
        # A model rewritten in place under the same folder must not hit the old cache.
        for file in sorted(folder.glob("*.safetensors")) + [folder / "config.json"]:
            if file.is_file():
                stat = file.stat()
                parts.append(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _save_atomically(results: list[LogprobSums], path: Path) -> None:
    """torch.save to a temporary name and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    torch.save(results, tmp)
    os.replace(tmp, path)
