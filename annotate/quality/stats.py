"""Agreement, reliability and position-bias statistics (numpy only, no database).

A ranking maps each output id to its rank bucket, 1 = best; outputs sharing a bucket
are tied (annotate.ranking's convention). Every function here takes plain mappings
and sequences, so the figures can be checked by hand on small cases.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np

Ranks = Mapping[int, int]  # output id -> rank bucket, 1 = best
Metric = Literal["nominal", "ordinal", "interval"]


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's τ-b of paired scores, ties allowed; None when x or y is constant."""
    s, untied_x, untied_y = _kendall_counts(x, y)
    # τ_b = (n_c − n_d) / √((n_0 − n_1)(n_0 − n_2)), n_1/n_2 = pairs tied in x/y.
    denominator = math.sqrt(untied_x * untied_y)
    return s / denominator if denominator else None


def _kendall_counts(x: Sequence[float], y: Sequence[float]) -> tuple[float, int, int]:
    """S = n_c − n_d over all pairs, and how many pairs are not tied in x and in y."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"Expected two equal-length lists, got {a.shape} and {b.shape}."
        )
    i, j = np.triu_indices(len(a), k=1)  # every unordered pair once, (n_0,) each
    dx, dy = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    return float(np.sum(dx * dy)), int(np.count_nonzero(dx)), int(np.count_nonzero(dy))


def mid_ranks(ranks: Ranks) -> dict[int, float]:
    """Each output's position 1..K; tied outputs share the mean of their positions."""
    sizes = Counter(ranks.values())
    above, position = 0, dict[int, float]()
    for bucket in sorted(sizes):
        position[bucket] = above + (sizes[bucket] + 1) / 2
        above += sizes[bucket]
    return {output: position[bucket] for output, bucket in ranks.items()}


def consensus_taus(rankings: Mapping[str, Ranks]) -> dict[str, float]:
    """Each judge's τ-b with the leave-one-out consensus of one prompt's other judges.

    The consensus of judge a is, per output, the mean mid-rank (`mid_ranks`) the
    other judges gave it: a Borda count, where ties cost an output half a place.
    Only outputs every judge of the prompt ranked are compared. A judge is left out
    when no other judge exists or either side is all tied (τ undefined).
    """
    if len(rankings) < 2:
        return {}
    shared = sorted(set.intersection(*(set(ranks) for ranks in rankings.values())))
    mids = {
        judge: mid_ranks({output: ranks[output] for output in shared})
        for judge, ranks in rankings.items()
    }
    taus = {}
    for judge, own in mids.items():
        others = [mid for other, mid in mids.items() if other != judge]
        consensus = [
            sum(mid[output] for mid in others) / len(others) for output in shared
        ]
        tau = kendall_tau_b([own[output] for output in shared], consensus)
        if tau is not None:
            taus[judge] = tau
    return taus


@dataclass(frozen=True)
class PairAgreement:
    """How two judges related the output pairs they both ranked."""

    agree: int
    shared: int


def pair_agreements(
    rankings: Mapping[str, Ranks],
) -> dict[tuple[str, str], PairAgreement]:
    """For each two judges of one prompt (names in sorted order): their shared pairs.

    A pair of outputs both judges ranked agrees when both put the same one above or
    both tie them, as in the export's `min_agreement`.
    """
    result = {}
    for first, second in combinations(sorted(rankings), 2):
        a, b = rankings[first], rankings[second]
        pairs = list(combinations(sorted(set(a) & set(b)), 2))
        agree = sum(_sign(a[y] - a[x]) == _sign(b[y] - b[x]) for x, y in pairs)
        result[(first, second)] = PairAgreement(agree=agree, shared=len(pairs))
    return result


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's α and the number of pairable values behind it."""

    value: float | None  # None when every pairable value is the same
    pairable: int


def krippendorff_alpha(units: Iterable[Sequence[float]], *, metric: Metric) -> Alpha:
    """Krippendorff's α over units, each the values its judges gave (missing left out).

    Nominal values are category codes (a flag: 0 or 1), ordinal ones are ordered
    (Likert 1–7), interval ones are numbers whose differences mean something.

    Units with fewer than two values cannot be paired and are dropped, as in
    Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability".
    """
    pairable = [list(values) for values in units if len(values) >= 2]
    values = sorted({value for unit in pairable for value in unit})
    index = {value: i for i, value in enumerate(values)}
    coincidences = np.zeros((len(values), len(values)))  # (V, V)
    for unit in pairable:
        counts = Counter(index[value] for value in unit)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                coincidences[c, k] += n_c * (n_k - (c == k)) / (len(unit) - 1)
    totals = coincidences.sum(axis=1)  # n_c, (V,)
    n = sum(len(unit) for unit in pairable)
    delta = _squared_differences(values, totals, metric)
    # α = 1 − D_o/D_e = 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck (Krippendorff 2011)
    expected = float(np.sum(np.outer(totals, totals) * delta))
    if expected == 0:
        return Alpha(value=None, pairable=n)
    observed = float(np.sum(coincidences * delta))
    return Alpha(value=1 - (n - 1) * observed / expected, pairable=n)


def _squared_differences(
    values: list[float], totals: np.ndarray, metric: Metric
) -> np.ndarray:
    """δ²_ck between every two values, (V, V), for the chosen level of measurement."""
    if metric == "nominal":
        return 1.0 - np.eye(len(values))
    if metric == "interval":
        positions = np.asarray(values, dtype=float)
    elif metric == "ordinal":
        # δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², which is the squared distance
        # between the midpoints of c and k in the cumulative count of pairable values.
        positions = np.cumsum(totals) - totals / 2
    else:
        raise ValueError(
            f"metric: expected nominal, ordinal or interval, got {metric!r}."
        )
    return (positions[:, None] - positions[None, :]) ** 2


@dataclass(frozen=True)
class PositionBias:
    """How much one judge's ranks follow the order the outputs were shown in.

    `tau`: mean τ-b of (display position, rank) over the tasks; > 0 means outputs
    shown earlier were ranked better. `z`: the pooled S in standard deviations of
    its no-bias distribution. `tasks`: tasks with at least two distinct ranks.
    """

    tau: float | None
    z: float | None
    tasks: int


def position_bias(tasks: Iterable[tuple[Sequence[int], Ranks]]) -> PositionBias:
    """τ-b between display position and rank per task, and a z-test against chance.

    Each task is (display order, ranks). Display order is a uniform shuffle, so with
    no bias S = n_c − n_d of position against rank has mean 0 and, given the sizes t
    of the tied buckets, variance [K(K−1)(2K+5) − Σ t(t−1)(2t+5)] / 18 (Kendall's
    null variance with ties in one ranking). z = ΣS / √(Σ var S) over the judge's
    tasks; a task with every output tied carries no information and is left out.
    """
    taus, s_total, variance = [], 0.0, 0.0
    for order, ranks in tasks:
        k = len(order)
        s, untied_positions, untied_ranks = _kendall_counts(
            range(k), [ranks[output] for output in order]
        )
        if not untied_ranks:
            continue
        ties = Counter(ranks[output] for output in order).values()
        tied = sum(t * (t - 1) * (2 * t + 5) for t in ties)
        taus.append(s / math.sqrt(untied_positions * untied_ranks))
        s_total += s
        variance += (k * (k - 1) * (2 * k + 5) - tied) / 18
    if not taus:
        return PositionBias(tau=None, z=None, tasks=0)
    return PositionBias(
        tau=sum(taus) / len(taus), z=s_total / math.sqrt(variance), tasks=len(taus)
    )
