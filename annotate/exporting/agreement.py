"""How far the annotators of one prompt agree, pair by pair (no database).

Agreement of a pair (a, b) in one ranking: among the exported rankings of the same
prompt that judged both a and b, the share that relate them the same way (a above b,
b above a, or tied) — the ranking itself included, so a lone judge agrees with
itself (1.0). A ranking's agreement is the mean over its pairs. The `min_agreement`
filter compares pairs (format `pairs`) or rankings (every other format) against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations

Ranks = Mapping[int, int]  # candidate id -> rank bucket, 1 = best


def relation(ranks: Ranks, a: int, b: int) -> int:
    """+1 when a is ranked above b, -1 when below, 0 when tied."""
    return (ranks[a] < ranks[b]) - (ranks[a] > ranks[b])


class PromptAgreement:
    """Relation counts over every ranking of one prompt."""

    def __init__(self, rankings: Sequence[Ranks]):
        self._counts: dict[tuple[int, int], Counter[int]] = {}
        for ranks in rankings:
            for a, b in combinations(sorted(ranks), 2):
                self._counts.setdefault((a, b), Counter())[relation(ranks, a, b)] += 1

    def judges(self, a: int, b: int) -> int:
        """How many rankings of the prompt judged both a and b."""
        return sum(self._counts.get(_key(a, b), Counter()).values())

    def pair(self, ranks: Ranks, a: int, b: int) -> float:
        """Share of the pair's judges that relate a and b as `ranks` does."""
        low, high = _key(a, b)
        counts = self._counts.get((low, high), Counter())
        total = sum(counts.values())
        return counts[relation(ranks, low, high)] / total if total else 1.0

    def ranking(self, ranks: Ranks) -> float:
        """Mean pair agreement of one ranking; 1.0 when it has no pairs."""
        pairs = list(combinations(sorted(ranks), 2))
        if not pairs:
            return 1.0
        return sum(self.pair(ranks, a, b) for a, b in pairs) / len(pairs)


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)
