"""What an import answers: counts of what it added, or every bad row and nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from annotate.text import clean_text

# Kept once per content; comparisons are only made for new annotations.
DEDUPLICATED = ("prompts", "candidates", "annotations")
MAX_SHOWN_ERRORS = 20  # enough to see the pattern; the exception keeps them all
# A message quotes the value at fault; a 1 MB value is not worth repeating.
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row (None: with the file as a whole)."""

    row: int | None
    message: str

    def __post_init__(self) -> None:
        # Stored as JSON and shown in pages: PostgreSQL refuses NUL, UTF-8 surrogates.
        message = clean_text(self.message)
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
        object.__setattr__(self, "message", message)

    def __str__(self) -> str:
        return self.message if self.row is None else f"row {self.row}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "message": self.message}


class ImportRejected(Exception):
    """Nothing was imported; `errors` lists every bad row, naming row and field."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        shown = [str(error) for error in self.errors[:MAX_SHOWN_ERRORS]]
        if len(self.errors) > len(shown):
            shown.append(f"… and {len(self.errors) - len(shown)} more bad rows")
        super().__init__("\n".join(shown))

    @classmethod
    def whole(cls, message: str) -> ImportRejected:
        """Refusal of the whole input, not of one row."""
        return cls([RowError(None, message)])


@dataclass
class ImportReport:
    """How many of each kind the import added, and how many it already had."""

    format: str
    rows: int
    added: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)

    def count(self, kind: str, *, created: bool) -> None:
        (self.added if created else self.duplicates)[kind] += 1

    def lines(self) -> list[str]:
        """One line per kind, for the command line and the admin."""
        return [
            f"{self.rows} rows read as {self.format}",
            *(
                f"{kind}: {self.added[kind]} added, "
                f"{self.duplicates[kind]} already there"
                for kind in DEDUPLICATED
            ),
            f"comparisons: {self.added['comparisons']} added",
            *(
                [f"gold references: {self.added['gold references']} set"]
                if self.added["gold references"]
                else []
            ),
        ]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportReport:
        return cls(
            data["format"],
            data["rows"],
            Counter(data["added"]),
            Counter(data["duplicates"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "rows": self.rows,
            "added": dict(self.added),
            "duplicates": dict(self.duplicates),
        }
