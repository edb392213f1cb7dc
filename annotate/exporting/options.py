"""What an export writes: its format, style, filters, and the errors that refuse one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import models

from annotate.models import LIKERT_MAX, LIKERT_MIN
from annotate.quality.selection import (
    AGGREGATE_LABELS,
    WEIGHTING_LABELS,
    Aggregate,
    QualityOptionError,
    QualityOptions,
    Weighting,
)


class ExportError(ValueError):
    """An export that cannot run as asked; the message names the option and why."""


class ExportFormat(models.TextChoices):
    PAIRS = "pairs", "Pairs (TRL preference: prompt, chosen, rejected)"
    UNPAIRED = "unpaired", "Unpaired (TRL KTO: prompt, completion, label)"
    RANKINGS = "rankings", "Rankings (prompt, completions, ranks with ties)"
    RATINGS = "ratings", "Ratings (one row per output: Likert and flags)"
    RAW = "raw", "Raw (every annotation, skips included)"


class Style(models.TextChoices):
    STANDARD = "standard", "Standard (plain text)"
    CONVERSATIONAL = "conversational", "Conversational (chat messages)"


class SourceFilter(models.TextChoices):
    ALL = "all", "Human and imported"
    HUMAN = "human", "Human only"
    IMPORTED = "imported", "Imported only"


class TiePolicy(models.TextChoices):
    """How the pairs format writes two outputs the annotator tied.

    TRL's trainers read no `tie` and no `weight` column: every row is a preference of
    `chosen` over `rejected` at full weight. So ties stay out of the pairs unless the
    export asks for them, and the labels (the command's, form's and API's help) say
    what TRL then does with them.
    """

    DROP = "drop", "Drop (default): tied outputs give no pair"
    KEEP = "keep", "Keep: a tie=true row per tie, which TRL trains on as a preference"
    SPLIT = "split", "Split: both ways, half weight; TRL pulls the two rewards together"


class MarginSource(models.TextChoices):
    """What the pairs format writes as `margin`, a column TRL reads by its name.

    TRL's RewardTrainer subtracts a `margin` column from the reward difference
    whenever the dataset has one, so it is written only when asked for; the rank
    and Likert gaps are always there as `rank_gap` and `likert_gap`, which TRL
    does not read.
    """

    NONE = "none", "None (default): no margin column, so TRL uses its plain loss"
    RANK_GAP = "rank-gap", "Rank gap: rank of rejected − rank of chosen"
    LIKERT_GAP = "likert-gap", "Likert gap: max(0, Likert(chosen) − Likert(rejected))"


class FileType(models.TextChoices):
    JSONL = "jsonl", "JSON lines (.jsonl)"
    PARQUET = "parquet", "Parquet (.parquet)"
    DATASETS = "datasets", "datasets folder (save_to_disk)"


# The command's --ties/--margin help and the API's field descriptions.
TIES_HELP = (
    "Pairs: what tied outputs give. TRL reads neither tie nor weight, so it trains "
    "on every row as a full preference of chosen over rejected. "
    + "".join(f"{policy.label}. " for policy in TiePolicy)
)
MARGIN_HELP = (
    "Pairs: the margin column, which TRL's RewardTrainer subtracts from the reward "
    "difference whenever it exists. "
    + "".join(f"{source.label}. " for source in MarginSource)
    + "rank_gap and likert_gap are always written."
)


RANKED_FORMATS = (ExportFormat.PAIRS, ExportFormat.RANKINGS)
# The command's, form's and API's help of the quality options.
WEIGHT_HELP = (
    "Pairs and rankings: how much each ranking weighs. "
    + "".join(f"{label}. " for label in WEIGHTING_LABELS.values())
    + "Pairs multiply their weight (1/pairs of the ranking) by it; rankings get a "
    "weight column. TRL's trainers drop a weight column; rankwise's trainer reads it."
)
AGGREGATE_HELP = "Pairs and rankings: several annotations of one prompt. " + "".join(
    f"{label}. " for label in AGGREGATE_LABELS.values()
)
MIN_TRUST_HELP = (
    "0-1: leave out annotators whose trust is below this; annotations without a "
    "trust figure (no shared or gold task yet, or imported) are left out too. "
    "Empty: no minimum."
)


@dataclass(frozen=True)
class ExportOptions:
    """One export: format, style and filters. Defaults export everything judged."""

    format: ExportFormat
    style: Style = Style.STANDARD
    source: SourceFilter = SourceFilter.ALL
    annotators: tuple[str, ...] = field(default=())  # usernames; empty = everyone
    rounds: tuple[int, ...] = field(default=())  # training round numbers; empty = all
    min_agreement: float = 0.0  # see agreement.py for the definition
    ties: TiePolicy = TiePolicy.DROP
    margin: MarginSource = MarginSource.NONE  # pairs: the TRL `margin` column
    exclude_flagged_chosen: bool = False
    exclude_rejected: bool = True  # leave out annotations a lead rejected in review
    # Annotation quality (annotate/quality/selection.py defines them; see `quality`).
    min_trust: float | None = None
    weighting: str = Weighting.NONE.value
    aggregate: str = Aggregate.NONE.value
    desirable_min_likert: int = 5  # unpaired: label true from this rating up
    undesirable_max_likert: int = 3  # unpaired: label false up to this rating
    test_fraction: float = 0.1  # datasets folders only: share of prompts in test
    seed: int = 0  # which prompts land in test

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotators", tuple(self.annotators))
        object.__setattr__(self, "rounds", tuple(self.rounds))
        for name, choices in (
            ("format", ExportFormat),
            ("style", Style),
            ("source", SourceFilter),
            ("ties", TiePolicy),
            ("margin", MarginSource),
        ):
            value = getattr(self, name)
            if value not in choices.values:
                raise ExportError(
                    f"{name}: {value!r} is not one of {', '.join(choices.values)}"
                )
            object.__setattr__(self, name, choices(value))
        self._check_quality()
        self._check_fraction("min_agreement", self.min_agreement)
        self._check_fraction("test_fraction", self.test_fraction)
        if not (
            LIKERT_MIN
            <= self.undesirable_max_likert
            < self.desirable_min_likert
            <= LIKERT_MAX
        ):
            raise ExportError(
                "undesirable_max_likert / desirable_min_likert: expected "
                f"{LIKERT_MIN} <= undesirable max < desirable min <= {LIKERT_MAX}, "
                f"got {self.undesirable_max_likert} and {self.desirable_min_likert}"
            )

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> ExportOptions:
        """Options from a form's or a command line's values; others are ignored."""
        names = {option.name for option in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})

    @property
    def quality(self) -> QualityOptions:
        """The quality-aware selection, as training snapshots take it too."""
        return QualityOptions(self.min_trust, self.weighting, self.aggregate)

    def _check_quality(self) -> None:
        """Valid quality options; weights and consensus only where rankings are."""
        try:
            quality = self.quality
        except QualityOptionError as error:
            raise ExportError(str(error)) from error
        object.__setattr__(self, "weighting", quality.weighting)
        object.__setattr__(self, "aggregate", quality.aggregate)
        if self.format in RANKED_FORMATS:
            return
        for name, off in (
            ("weighting", Weighting.NONE),
            ("aggregate", Aggregate.NONE),
        ):
            if getattr(quality, name) != off:
                raise ExportError(
                    f"{name}: applies to the {' and '.join(RANKED_FORMATS)} "
                    f"formats, not {str(self.format)!r}; expected {off}"
                )

    @staticmethod
    def _check_fraction(name: str, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ExportError(f"{name}: {value} is outside 0 to 1")

    def filters_summary(self) -> list[tuple[str, str]]:
        """The options that select or shape rows, as the dataset card lists them."""
        return [
            ("source", str(self.source)),
            # Counted, not named: the card must not undo the pseudonyms.
            (
                "annotators",
                f"{len(self.annotators)} selected" if self.annotators else "all",
            ),
            ("rounds", ", ".join(map(str, self.rounds)) or "all"),
            ("min_agreement", str(self.min_agreement)),
            ("ties", str(self.ties)),
            ("margin", str(self.margin)),
            ("exclude_flagged_chosen", str(self.exclude_flagged_chosen)),
            ("exclude_rejected", str(self.exclude_rejected)),
            *((name, str(value)) for name, value in self.quality.summary().items()),
            ("desirable_min_likert", str(self.desirable_min_likert)),
            ("undesirable_max_likert", str(self.undesirable_max_likert)),
            ("test_fraction", str(self.test_fraction)),
            ("seed", str(self.seed)),
        ]
