"""Which judgements train, with what weight, and how several become one (no database).

One set of options serves training snapshots and exports alike (the README, the
dataset card and the round page repeat these words):

- min_trust (0–1, or None for no minimum): an annotation is left out when its
  annotator's trust (report.trust_score) is below min_trust. An annotation with no
  trust figure — its annotator shares no prompt with another annotator and has done
  no gold task yet, or it was imported and no rankwise annotator made it — is left
  out too whenever a minimum is set: a minimum asks for evidence of care, and there
  is none. The two are counted under their own reasons.
- weighting: `none` (default) leaves every ranking at weight 1; `trust` weighs each
  ranking by its annotator's trust, floored at TRUST_WEIGHT_FLOOR; an annotation
  with no trust figure weighs the floor. The floor keeps every weight positive (the
  trainer refuses weight 0: use min_trust to leave work out). The trainer divides
  by the sum of the weights, so only their ratios matter.
- aggregate: `none` (default) keeps every annotation of a prompt as its own ranking;
  `majority` and `bradley-terry` fold the prompt's kept annotations into one
  consensus ranking of every output any of them ranked:
  - majority: each pair of outputs takes the relation (above, below, tied) that
    most of the prompt's rankings give it, votes weighted by the rankings' weights;
    an even vote is a tie. Outputs are then ranked by their Copeland score (1 per
    pair won, ½ per pair tied, over the pairs someone judged), equal scores tied:
    this is the majority order itself whenever that order has no cycle.
  - bradley-terry: a Bradley–Terry fit on the prompt's pairs (bradley_terry.bt_fit,
    a tie half a win each way, wins weighted by the rankings' weights, its default
    prior of one virtual tied game per output), outputs ranked by strength, equal
    strengths (to SCORE_DECIMALS) tied.
  A consensus ranking records the annotations it folded; its weight is 1 without
  weighting, else the mean weight of the annotations folded (a prompt judged only
  by a careless annotator still weighs little).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import Any

import numpy as np

from annotate.quality.bradley_terry import bt_fit
from annotate.quality.stats import Ranks

TRUST_WEIGHT_FLOOR = 0.05  # a trust-0 ranking weighs 1/10 of a trust-0.5 one
SCORE_DECIMALS = 6  # Bradley–Terry strengths equal to this many decimals are tied
BELOW_MIN_TRUST = "annotator trust below min_trust"
NO_TRUST_FIGURE = "annotator without a trust figure (min_trust)"
# (a's share, b's share) of one game by the relation of a to b: a tie is half each.
WIN_SHARES = {1: (1.0, 0.0), 0: (0.5, 0.5), -1: (0.0, 1.0)}


class Weighting(StrEnum):
    NONE = "none"
    TRUST = "trust"


class Aggregate(StrEnum):
    NONE = "none"
    MAJORITY = "majority"
    BRADLEY_TERRY = "bradley-terry"


WEIGHTING_LABELS = {
    Weighting.NONE: "None (default): every ranking weighs 1",
    Weighting.TRUST: f"Trust: each ranking weighs its annotator's trust (at least "
    f"{TRUST_WEIGHT_FLOOR}; {TRUST_WEIGHT_FLOOR} without a trust figure)",
}
AGGREGATE_LABELS = {
    Aggregate.NONE: "None (default): every annotation is its own ranking",
    Aggregate.MAJORITY: "Majority: one ranking per prompt, each pair as most "
    "annotators order it (ties allowed)",
    Aggregate.BRADLEY_TERRY: "Bradley–Terry: one ranking per prompt, outputs by "
    "their fitted strength",
}
# Help of the round's data settings (the launch form adds what empty means).
MIN_TRUST_HELP = (
    "leave out annotators whose trust is below this (0-1); annotations without a "
    "trust figure (no shared or gold task yet, or imported) are left out too"
)
WEIGHTING_HELP = "how much each ranking weighs. " + ". ".join(WEIGHTING_LABELS.values())
AGGREGATE_HELP = "several annotations of one prompt. " + ". ".join(
    AGGREGATE_LABELS.values()
)


class QualityOptionError(ValueError):
    """A bad quality option; `field` names it, the message says what was expected."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class QualityOptions:
    """Quality-aware selection of rankings, shared by snapshots and exports."""

    min_trust: float | None = field(
        default=None, metadata={"help": MIN_TRUST_HELP, "empty": "no minimum"}
    )
    weighting: str = field(
        default=Weighting.NONE.value,
        metadata={"help": WEIGHTING_HELP, "choices": tuple(Weighting)},
    )
    aggregate: str = field(
        default=Aggregate.NONE.value,
        metadata={"help": AGGREGATE_HELP, "choices": tuple(Aggregate)},
    )

    def __post_init__(self) -> None:
        trust = self.min_trust
        if trust is not None and (
            isinstance(trust, bool)
            or not isinstance(trust, int | float)
            or not 0.0 <= trust <= 1.0
        ):
            raise QualityOptionError(
                "min_trust", f"{trust!r} is not a number from 0 to 1 (or empty)"
            )
        for name, choices in (("weighting", Weighting), ("aggregate", Aggregate)):
            value = getattr(self, name)
            if value not in choices.__members__.values():
                raise QualityOptionError(
                    name, f"{value!r} is not one of {', '.join(choices)}"
                )
            object.__setattr__(self, name, choices(value))

    @property
    def needs_trust(self) -> bool:
        """Whether these options read the annotators' trust at all."""
        return self.min_trust is not None or self.weighting == Weighting.TRUST

    @property
    def is_default(self) -> bool:
        return self == QualityOptions()

    def summary(self) -> dict[str, Any]:
        """The options as plain values (snapshot details, dataset card)."""
        return {
            "min_trust": self.min_trust,
            "weighting": str(self.weighting),
            "aggregate": str(self.aggregate),
        }


def left_out_reason(trust: float | None, min_trust: float | None) -> str | None:
    """Why an annotation with this trust is left out, or None when it is kept."""
    if min_trust is None:
        return None
    if trust is None:
        return NO_TRUST_FIGURE
    return BELOW_MIN_TRUST if trust < min_trust else None


def ranking_weight(trust: float | None, weighting: str) -> float:
    """One annotation's weight: 1, or its annotator's trust floored (module doc)."""
    if weighting == Weighting.NONE:
        return 1.0
    return max(trust if trust is not None else 0.0, TRUST_WEIGHT_FLOOR)


def ranks_from_scores(scores: Mapping[int, float]) -> dict[int, int]:
    """Dense ranks, 1 = highest score; outputs with equal scores share a rank."""
    distinct = sorted(set(scores.values()), reverse=True)
    rank_of = {score: position + 1 for position, score in enumerate(distinct)}
    return {output: rank_of[score] for output, score in scores.items()}


def majority_ranks(
    rankings: Sequence[Ranks], weights: Sequence[float]
) -> dict[int, int]:
    """The consensus by weighted majority per pair, ranked by Copeland score."""
    # (a, b) → weight of the rankings putting a above (1), tied (0), below (-1).
    votes: dict[tuple[int, int], dict[int, float]] = defaultdict(
        lambda: {1: 0.0, 0: 0.0, -1: 0.0}
    )
    for ranks, weight in zip(rankings, weights, strict=True):
        for a, b in combinations(sorted(ranks), 2):
            votes[(a, b)][_relation(ranks, a, b)] += weight
    outputs = sorted({output for ranks in rankings for output in ranks})
    copeland = dict.fromkeys(outputs, 0.0)
    for (a, b), tally in votes.items():
        above, below = tally[1], tally[-1]
        # The relation with the most weight wins; an even vote is a tie.
        if above > max(below, tally[0]):
            copeland[a] += 1.0
        elif below > max(above, tally[0]):
            copeland[b] += 1.0
        else:
            copeland[a] += 0.5
            copeland[b] += 0.5
    return ranks_from_scores(copeland)


def bradley_terry_ranks(
    rankings: Sequence[Ranks], weights: Sequence[float]
) -> dict[int, int]:
    """The consensus by a per-prompt Bradley–Terry fit, ties where strengths match."""
    outputs = sorted({output for ranks in rankings for output in ranks})
    index = {output: i for i, output in enumerate(outputs)}
    wins = np.zeros((len(outputs), len(outputs)))  # (M, M): times i beat j
    for ranks, weight in zip(rankings, weights, strict=True):
        for a, b in combinations(sorted(ranks), 2):
            won, lost = WIN_SHARES[_relation(ranks, a, b)]
            wins[index[a], index[b]] += weight * won
            wins[index[b], index[a]] += weight * lost
    scores = bt_fit(wins)  # (M,)
    return ranks_from_scores(
        {
            output: round(float(scores[index[output]]), SCORE_DECIMALS)
            for output in outputs
        }
    )


CONSENSUS: dict[str, Callable[[Sequence[Ranks], Sequence[float]], dict[int, int]]] = {
    Aggregate.MAJORITY: majority_ranks,
    Aggregate.BRADLEY_TERRY: bradley_terry_ranks,
}


def consensus_ranks(
    method: str, rankings: Sequence[Ranks], weights: Sequence[float]
) -> dict[int, int]:
    """One ranking from several of one prompt, by `method` (majority, bradley-terry)."""
    if len(rankings) == 1:
        return dict(rankings[0])
    return CONSENSUS[method](rankings, weights)


def folded_weight(weights: Sequence[float], weighting: str) -> float:
    """A consensus ranking's weight: 1, or the mean weight of what it folded."""
    return 1.0 if weighting == Weighting.NONE else statistics.fmean(weights)


@dataclass
class WeightTally:
    """min, mean and max of weights seen one at a time (an export streams them)."""

    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, weight: float) -> None:
        self.count += 1
        self.total += weight
        self.low = min(self.low, weight)
        self.high = max(self.high, weight)

    def summary(self) -> dict[str, float] | None:
        if not self.count:
            return None
        return {"min": self.low, "mean": self.total / self.count, "max": self.high}


@dataclass(frozen=True)
class Judged:
    """One ranking as selection reads it: whose, of which prompt, and its ranks."""

    annotation: int
    prompt: int
    trust: float | None  # its annotator's trust; None without a figure
    ranks: Ranks


@dataclass(frozen=True)
class Selected:
    """A ranking to train on: one annotation, or the consensus of several."""

    prompt: int
    annotations: tuple[int, ...]  # the annotations it stands for, ascending
    ranks: dict[int, int]
    weight: float


@dataclass(frozen=True)
class Selection:
    rankings: list[Selected]
    left_out: Counter[str]  # reason -> annotations

    @property
    def annotation_ids(self) -> list[int]:
        return sorted(pk for ranking in self.rankings for pk in ranking.annotations)

    def weight_summary(self) -> dict[str, float] | None:
        """min, mean and max of the rankings' weights (None when there are none)."""
        tally = WeightTally()
        for ranking in self.rankings:
            tally.add(ranking.weight)
        return tally.summary()


def select_rankings(judged: Sequence[Judged], options: QualityOptions) -> Selection:
    """Apply min_trust, weighting and aggregation to a project's rankings."""
    left_out: Counter[str] = Counter()
    by_prompt: dict[int, list[tuple[Judged, float]]] = defaultdict(list)
    for ranking in sorted(judged, key=lambda r: (r.prompt, r.annotation)):
        reason = left_out_reason(ranking.trust, options.min_trust)
        if reason is not None:
            left_out[reason] += 1
            continue
        weight = ranking_weight(ranking.trust, options.weighting)
        by_prompt[ranking.prompt].append((ranking, weight))
    selected = []
    for prompt, members in by_prompt.items():
        if options.aggregate == Aggregate.NONE:
            selected += [
                Selected(prompt, (r.annotation,), dict(r.ranks), weight)
                for r, weight in members
            ]
            continue
        weights = [weight for _, weight in members]
        selected.append(
            Selected(
                prompt,
                tuple(r.annotation for r, _ in members),
                consensus_ranks(
                    options.aggregate, [r.ranks for r, _ in members], weights
                ),
                folded_weight(weights, options.weighting),
            )
        )
    return Selection(selected, left_out)


def untied_pairs(ranks: Ranks) -> int:
    """How many comparisons a ranking gives the trainer (tied pairs give none)."""
    return sum(a != b for a, b in combinations(ranks.values(), 2))


def _relation(ranks: Ranks, a: int, b: int) -> int:
    """+1 when a is ranked above b, -1 when below, 0 when tied."""
    return (ranks[a] < ranks[b]) - (ranks[a] > ranks[b])
