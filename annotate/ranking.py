"""Ranking maths with no database: expansion into pairs, conflicts with ratings.

A ranking maps each output to a rank bucket (1 = best); outputs sharing a bucket are
tied. Expansion yields every unordered pair once, better output first.
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


def buckets_to_ranks(buckets: list[list[int]]) -> dict[int, int]:
    """[[a, b], [c]] → {a: 1, b: 1, c: 2}: bucket position is the rank."""
    return {
        candidate: position
        for position, bucket in enumerate(buckets, start=1)
        for candidate in bucket
    }
