"""Log-probs of completions under a causal LM; a cache for the reference's.

Rows of a batch that share a prompt forward it once and continue from its KV cache:
the same log-probs as whole rows (to float rounding) for less compute.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint
from transformers import DynamicCache

from training.core.batching import (
    Batch,
    SharedPrompts,
    arange_row,
    length_buckets,
    position_ids_from_mask,
    share_prompts,
)
from training.core.distributed import is_sharded
from training.core.memory import checkpoints_now

LogprobSums = tuple[torch.Tensor, torch.Tensor]  # (summed log-probs (B,), counts (B,))
LOGPROB_CHUNK = 1024  # tokens per fp32 log-softmax slice: 0.6 GB at a 150k vocabulary


def token_logprobs(
    logits: torch.Tensor, input_ids: torch.Tensor, *, chunk: int = LOGPROB_CHUNK
) -> torch.Tensor:
    """log p(token t | tokens < t) for t = 1..T-1: logits (B, T, V) -> (B, T-1).

    Computed over time slices of about `chunk` tokens, so the fp32 working copy is
    (chunk, V), never (B, T, V): on a 150k vocabulary that copy of all logits would
    outweigh a small model's activations.
    """
    width = max(1, chunk // max(1, logits.shape[0]))  # positions per slice, all rows
    end = logits.shape[1] - 1  # position t predicts token t+1; the last predicts none
    parts = []
    for start in range(0, end, width):
        stop = min(start + width, end)
        piece = logits[:, start:stop]  # (B, C, V) view: no copy
        targets = input_ids[:, start + 1 : stop + 1]  # (B, C)
        if piece.requires_grad:
            # Recomputed in backward: autograd keeps the logits, not their fp32 copy.
            part = checkpoint(_slice_logprobs, piece, targets, use_reentrant=False)
        else:
            part = _slice_logprobs(piece, targets)
        parts.append(part)
    if not parts:
        return logits.new_zeros(logits.shape[0], 0, dtype=torch.float32)
    return torch.cat(parts, dim=1)  # (B, T-1)


def _slice_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log-softmax of fp32 `logits` (B, C, V) at `targets` (B, C) -> (B, C)."""
    logits = logits.float()
    picked = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, C)
    # logsumexp instead of log_softmax avoids a second (B, C, V) tensor.
    return picked - torch.logsumexp(logits, dim=-1)  # (B, C)


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
    # Rows in chunks bound the peak (rows, T, V) logits tensor on long vocabularies.
    sums = [
        _summed_logprobs(model, batch.rows(slice(start, start + step)))
        for start in range(0, len(batch), step)
    ]
    return torch.cat(sums), completion_targets(batch).sum(-1)


def _summed_logprobs(model: Any, batch: Batch) -> torch.Tensor:
    """(B,) summed completion log-probs; rows that share a prompt forward it once.

    Under gradient checkpointing transformers drops the KV cache the shared prompt
    continues from, so rows go whole: the same log-probs, the prompt forwarded again.
    So they do for a sharded model: each forward gathers weights from every rank, and
    the shared path's forwards (one per suffix-length bucket) differ between ranks.
    """
    shares = (
        _caches_whole_prompts(model)
        and not checkpoints_now(model)
        and not is_sharded(model)
    )
    shared = share_prompts(batch) if shares else None
    if shared is None:
        logprobs, mask = completion_token_logprobs(model, batch)  # (B, T-1) each
        return (logprobs * mask).sum(-1)  # (B,)
    return shared_prompt_logprobs(model, shared)


def shared_prompt_logprobs(model: Any, shared: SharedPrompts) -> torch.Tensor:
    """(B,) summed completion log-probs: prefixes once, then every suffix on its KV.

    With dropout on, a prompt's continuations share one dropout draw of the prompt.
    """
    width = shared.prefix_ids.shape[1]
    # An empty prefix row must still attend to something, or attention gives NaN;
    # its column stays masked for the suffix below.
    attend = shared.prefix_mask.clone()
    attend[:, 0] = 1  # (U, P)
    prefix = model(
        input_ids=shared.prefix_ids,
        attention_mask=attend,
        position_ids=arange_row(width, attend).expand_as(attend),  # (U, P)
        use_cache=True,
        logits_to_keep=1,  # the prefix's logits score nothing
    ).past_key_values
    layers = [(keys, values) for keys, values, *_ in prefix]  # (U, H, P, D) each
    order = shared.suffix_mask.sum(-1).argsort(descending=True)  # (B,) longest first
    parts = [
        _suffix_logprobs(model, shared, layers, order[start:end])
        for start, end in length_buckets(shared.suffix_mask.sum(-1)[order].tolist())
    ]
    return torch.cat(parts)[order.argsort()]  # (B,) back in row order


def _suffix_logprobs(
    model: Any,
    shared: SharedPrompts,
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    rows: torch.Tensor,
) -> torch.Tensor:
    """(R,) summed log-probs of the suffixes `rows`, continuing their prefixes' KV."""
    prefix_of_row = shared.prefix_of_row[rows]  # (R,)
    span = int(shared.suffix_mask[rows].sum(-1).max())
    ids = shared.suffix_ids[rows, :span]  # (R, S)
    cache = DynamicCache(
        ddp_cache_data=[(k[prefix_of_row], v[prefix_of_row]) for k, v in layers]
    )
    mask = torch.cat(
        [shared.prefix_mask[prefix_of_row], shared.suffix_mask[rows, :span]], 1
    )
    logits = model(
        input_ids=ids,
        attention_mask=mask,  # (R, P + S)
        position_ids=shared.suffix_start[rows, None] + arange_row(span, ids),  # (R, S)
        past_key_values=cache,
        use_cache=True,
    ).logits  # (R, S, V)
    logprobs = token_logprobs(logits, ids)  # (R, S-1)
    return (logprobs * shared.suffix_targets[rows, 1:span]).sum(-1)  # (R,)


def _caches_whole_prompts(model: Any) -> bool:
    """False for sliding-window attention, whose cache drops a long prefix's start."""
    return not getattr(getattr(model, "config", None), "sliding_window", None)


# no_grad, not inference_mode: FSDP gathers weights into buffers it keeps, and a
# buffer first made in inference mode cannot be written by the training after it.
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
