"""Groups of completions per prompt, batched as ONE padded (M, T) token batch.

Every trainer here sees its data as groups: a ranking is K completions with ranks, a
pair is a K=2 ranking, a demo or an unpaired label is K=1. Each completion of a batch of
groups is one row of a single right-padded batch, so a model runs one forward per
completion; `slots` maps the (N, K) group layout onto those rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from training.core.batching import Batch, Encoding, Text, collate, encoding_fingerprint
from training.core.batching import encode_prompt_completion as encode_one
from training.core.data import RankingExample
from training.core.distributed import shard, world_size

PAD_RANK = 10**6  # ranks padding slots below every real one


@dataclass(frozen=True)
class Group:
    """One prompt's encoded completions and their ranks (1 = best)."""

    encodings: tuple[Encoding, ...]
    ranks: tuple[int, ...]
    weight: float = 1.0
    ref_logps: tuple[float, ...] | None = None  # reference log-probs, once computed


@dataclass(frozen=True)
class GroupBatch:
    """N groups flattened to M = sum(K_i) token rows, with the (N, K) layout."""

    tokens: Batch  # (M, T) right-padded prompt + completion rows
    slots: torch.Tensor  # (N, K) row of tokens for each slot; 0 on padding
    mask: torch.Tensor  # (N, K) True on real slots
    ranks: torch.Tensor  # (N, K) 1 = best; PAD_RANK on padding
    weights: torch.Tensor  # (N,) group weights
    ref_logps: torch.Tensor | None  # (M,) reference log-probs per row

    def to(self, device: torch.device) -> GroupBatch:
        """The same batch on `device`."""
        ref = None if self.ref_logps is None else self.ref_logps.to(device)
        return GroupBatch(
            self.tokens.to(device),
            self.slots.to(device),
            self.mask.to(device),
            self.ranks.to(device),
            self.weights.to(device),
            ref,
        )

    def grouped(self, rows: torch.Tensor) -> torch.Tensor:
        """Per-row values (M,) laid out per group (N, K); padding slots hold 0."""
        return torch.where(self.mask, rows[self.slots], 0).to(rows.dtype)  # (N, K)


def encode_group(
    tokenizer: object,
    prompt: Text,
    completions: Sequence[Text],
    ranks: Sequence[int],
    *,
    max_length: int,
    chat_template: str,
    weight: float = 1.0,
    sampled_ids: Sequence[Sequence[int] | None] | None = None,
) -> Group:
    """Tokenise one prompt's completions (prompt tokens masked out of the loss).

    A completion with `sampled_ids` keeps the tokens it was sampled as.
    """
    ids = sampled_ids if sampled_ids is not None else [None] * len(completions)
    encodings = tuple(
        encode_one(
            tokenizer,
            prompt,
            c,
            chat_template=chat_template,
            max_length=max_length,
            completion_ids=i,
        )
        for c, i in zip(completions, ids, strict=True)
    )
    return Group(encodings, tuple(ranks), weight)


def encode_rankings(
    tokenizer: object,
    rankings: Sequence[RankingExample],
    *,
    max_length: int,
    chat_template: str,
) -> list[Group]:
    """One group per ranking; sampled completions keep their sampled tokens.

    Only ids sampled under this encoding (tokenizer and rendering) are kept.
    """
    fingerprint = encoding_fingerprint(tokenizer, chat_template=chat_template)
    return [
        encode_group(
            tokenizer,
            r.prompt,
            r.completions,
            r.ranks,
            max_length=max_length,
            chat_template=chat_template,
            weight=r.weight,
            sampled_ids=r.sampled_ids(fingerprint),
        )
        for r in rankings
    ]


def collate_groups(groups: Sequence[Group], *, pad_token_id: int) -> GroupBatch:
    """Pad the groups' completions into one batch and record their (N, K) slots."""
    width = max(len(g.ranks) for g in groups)
    slots, ranks, mask, row = [], [], [], 0
    for group in groups:
        k = len(group.ranks)
        slots.append(list(range(row, row + k)) + [0] * (width - k))
        ranks.append(list(group.ranks) + [PAD_RANK] * (width - k))
        mask.append([True] * k + [False] * (width - k))
        row += k
    encodings = [e for g in groups for e in g.encodings]
    return GroupBatch(
        collate(encodings, pad_token_id=pad_token_id, padding_side="right"),
        torch.tensor(slots),  # (N, K)
        torch.tensor(mask),  # (N, K)
        torch.tensor(ranks),  # (N, K)
        torch.tensor([g.weight for g in groups], dtype=torch.float32),  # (N,)
        _flat_ref(groups),
    )


def _flat_ref(groups: Sequence[Group]) -> torch.Tensor | None:
    """The groups' reference log-probs as one (M,) tensor, or None if not computed."""
    if any(g.ref_logps is None for g in groups):
        return None
    return torch.tensor([lp for g in groups for lp in g.ref_logps or ()])  # (M,)


def strict_pairs(batch: GroupBatch) -> torch.Tensor:
    """(N, K, K) bool: slot i is ranked strictly above slot j (ties and padding: no)."""
    beats = batch.ranks.unsqueeze(2) < batch.ranks.unsqueeze(1)  # (N, K, K)
    return beats & batch.mask.unsqueeze(2) & batch.mask.unsqueeze(1)  # (N, K, K)


def ranked_pairs(
    batch: GroupBatch,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rows of every untied (better, worse) pair and weights summing to each group's."""
    beats = strict_pairs(batch)  # (N, K, K)
    n, better, worse = beats.nonzero(as_tuple=True)  # (P,) each
    per_group = beats.sum(dim=(1, 2)).clamp(min=1)  # (N,)
    # As in rankings_to_pairs: a ranking's pairs share its weight equally.
    weights = batch.weights[n] / per_group[n]  # (P,)
    return batch.slots[n, better], batch.slots[n, worse], weights


def split_groups(
    groups: Sequence[Group], eval_fraction: float, seed: int
) -> tuple[list[Group], list[Group]]:
    """(train, held-out) by a seeded shuffle; at least one of each when possible."""
    order = torch.randperm(len(groups), generator=_generator(seed)).tolist()
    n_eval = round(eval_fraction * len(groups))
    if eval_fraction > 0 and len(groups) >= 2:
        n_eval = min(max(n_eval, 1), len(groups) - 1)
    held_out = [groups[i] for i in order[:n_eval]]
    return [groups[i] for i in order[n_eval:]], held_out


def longest_completion(group: Group) -> int:
    """Tokens in the group's longest completion (what its rows pad to)."""
    return max(sum(mask) for _, mask in group.encodings)


def in_batches(
    groups: Sequence[Group], batch_size: int, *, pad_token_id: int
) -> list[GroupBatch]:
    """The groups in their order, `batch_size` groups a batch."""
    return [
        collate_groups(groups[start : start + batch_size], pad_token_id=pad_token_id)
        for start in range(0, len(groups), batch_size)
    ]


def epoch_batches(
    groups: Sequence[Group], batch_size: int, *, pad_token_id: int, seed: int
) -> Callable[[int], list[GroupBatch]]:
    """epoch -> this rank's shuffled batches; the same epoch always gives the same.

    Launched data-parallel, a global batch is batch_size x world_size groups, the
    same on every rank (same seed), and each rank takes its share, so all ranks run
    as many forwards; an epoch's last one that does not divide evenly repeats its
    first groups to fill the ranks (distributed.shard). One process: plain batches.
    """
    width = batch_size * world_size()

    def batches(epoch: int) -> list[GroupBatch]:
        order = torch.randperm(len(groups), generator=_generator(seed + epoch))
        shuffled = [groups[i] for i in order.tolist()]
        return [
            collate_groups(
                shard(shuffled[start : start + width]), pad_token_id=pad_token_id
            )
            for start in range(0, len(shuffled), width)
        ]

    return batches


def with_reference(groups: Sequence[Group], flat: torch.Tensor) -> list[Group]:
    """The groups with reference log-probs attached; `flat` (M,) follows their rows."""
    if len(flat) != sum(len(g.ranks) for g in groups):
        raise ValueError(f"{len(flat)} reference log-probs for a different row count")
    values, out, row = flat.tolist(), [], 0
    for group in groups:
        k = len(group.ranks)
        out.append(dataclasses.replace(group, ref_logps=tuple(values[row : row + k])))
        row += k
    return out


def _generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with `seed`."""
    return torch.Generator().manual_seed(seed)
