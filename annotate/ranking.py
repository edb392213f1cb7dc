"""Ranking maths with no database: expansion into pairs, conflicts with ratings.

A ranking maps each output to a rank bucket (1 = best); outputs sharing a bucket are
tied, and stored ranks have no gaps (1, 2, 3…). Expansion yields every unordered pair
once, better output first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class ExpandedPair:
    chosen: int
    rejected: int
    is_tie: bool
    weight: float
    rank_gap: int
    likert_gap: int


def expand_ranking(
    ranks: Mapping[int, int], likert: Mapping[int, int], *, keep_ties: bool
) -> list[ExpandedPair]:
    """Every pair of outputs in different buckets, better first; ties only if kept.

    Weights are 1/(number of pairs kept) so each annotation sums to 1 — InstructGPT's
    1/C(K,2) when nothing is tied. Order is deterministic (by rank, then by id).
    """
    ordered = sorted(ranks, key=lambda candidate: (ranks[candidate], candidate))
    kept = [
        (better, worse)
        for better, worse in combinations(ordered, 2)
        if keep_ties or ranks[better] != ranks[worse]
    ]
    weight = 1.0 / len(kept) if kept else 0.0
    return [
        ExpandedPair(
            chosen=better,
            rejected=worse,
            is_tie=ranks[better] == ranks[worse],
            weight=weight,
            rank_gap=ranks[worse] - ranks[better],
            likert_gap=likert[better] - likert[worse],
        )
        for better, worse in kept
    ]


def ranking_conflicts(
    ranks: Mapping[int, int], likert: Mapping[int, int]
) -> list[tuple[int, int]]:
    """Pairs (better-ranked, worse-ranked) whose Likert ratings say the opposite."""
    return [
        (pair.chosen, pair.rejected)
        for pair in expand_ranking(ranks, likert, keep_ties=False)
        if pair.likert_gap < 0
    ]


def dense_ranks(ranks: Mapping[int, int]) -> dict[int, int]:
    """{a: 1, b: 3, c: 3} → {a: 1, b: 2, c: 2}: the same order and ties, no gaps.

    Migration 0005_compact_rank_gaps closes the gaps empty buckets left in stored
    rankings.
    """
    position = {
        rank: dense for dense, rank in enumerate(sorted(set(ranks.values())), start=1)
    }
    return {candidate: position[rank] for candidate, rank in ranks.items()}


def buckets_to_ranks(buckets: list[list[int]]) -> dict[int, int]:
    """[[a, b], [], [c]] → {a: 1, b: 1, c: 2}: ranks count the non-empty buckets.

    A ranking says which output is better, not by how much (the Likert ratings say
    that), so a bucket left empty in the drag-to-rank UI or an API body carries no
    judgement; counting it would widen every rank gap across it.
    """
    filled = [bucket for bucket in buckets if bucket]
    return {
        candidate: position
        for position, bucket in enumerate(filled, start=1)
        for candidate in bucket
    }
