"""The Arrow type of every exported field, per format and style (Parquet, datasets).

A fixed schema lets Parquet row groups and `datasets` folders be written batch by
batch without guessing types from the first rows (a null there would fix the type).
"""

from __future__ import annotations

import pyarrow as pa

from annotate.exporting.options import ExportFormat, ExportOptions, MarginSource, Style
from annotate.quality.selection import Aggregate, Weighting

MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
FLAGS = pa.list_(pa.string())

# Per output: keys ticked (or answered Yes), and keys answered No.
OUTPUT_FLAGS = [("flags", FLAGS), ("flags_no", FLAGS)]
# The prompt-level checklist, the same two lists.
PROMPT_FLAGS = [("prompt_flags", FLAGS), ("prompt_flags_no", FLAGS)]

IDS = [
    ("prompt_id", pa.int64()),
    ("annotation_id", pa.int64()),
    ("annotator", pa.string()),
    ("source", pa.string()),
]


def _text(style: Style) -> pa.DataType:
    return MESSAGES if style == Style.CONVERSATIONAL else pa.string()


def _output_fields() -> list[tuple[str, pa.DataType]]:
    return [
        ("likert", pa.int32()),
        *OUTPUT_FLAGS,
        *PROMPT_FLAGS,
        ("rank", pa.int32()),
        ("agreement", pa.float64()),
        *IDS,
        ("candidate_id", pa.int64()),
        ("model", pa.string()),
        ("round", pa.int32()),
    ]


def _pairs(text: pa.DataType, *, margin: bool) -> list[tuple[str, pa.DataType]]:
    return [
        ("prompt", text),
        ("chosen", text),
        ("rejected", text),
        *([("margin", pa.float64())] if margin else []),
        ("weight", pa.float64()),
        ("tie", pa.bool_()),
        ("rank_gap", pa.int32()),
        ("likert_gap", pa.int32()),
        ("agreement", pa.float64()),
        ("judges", pa.int32()),
        *IDS,
        ("chosen_id", pa.int64()),
        ("rejected_id", pa.int64()),
        ("chosen_model", pa.string()),
        ("rejected_model", pa.string()),
        ("chosen_round", pa.int32()),
        ("rejected_round", pa.int32()),
    ]


def _unpaired(text: pa.DataType) -> list[tuple[str, pa.DataType]]:
    return [
        ("prompt", text),
        ("completion", text),
        ("label", pa.bool_()),
        *_output_fields(),
    ]


def _ratings(text: pa.DataType) -> list[tuple[str, pa.DataType]]:
    return [("prompt", text), ("completion", text), *_output_fields()]


def _rankings(text: pa.DataType) -> list[tuple[str, pa.DataType]]:
    return [
        ("prompt", text),
        ("completions", pa.list_(text)),
        ("ranks", pa.list_(pa.int32())),
        ("likert", pa.list_(pa.int32())),
        *[(name, pa.list_(flags)) for name, flags in OUTPUT_FLAGS],
        *PROMPT_FLAGS,
        ("agreement", pa.float64()),
        ("judges", pa.int32()),
        *IDS,
        ("candidate_ids", pa.list_(pa.int64())),
        ("models", pa.list_(pa.string())),
        ("rounds", pa.list_(pa.int32())),
    ]


def _raw(text: pa.DataType) -> list[tuple[str, pa.DataType]]:
    output = pa.struct(
        [
            ("letter", pa.string()),
            ("candidate_id", pa.int64()),
            ("completion", text),
            ("model", pa.string()),
            ("round", pa.int32()),
            ("rank", pa.int32()),
            ("likert", pa.int32()),
            *OUTPUT_FLAGS,
        ]
    )
    return [
        ("prompt", text),
        *IDS,
        ("skipped", pa.bool_()),
        ("skip_reason", pa.string()),
        ("notes", pa.string()),
        *PROMPT_FLAGS,
        ("import_source", pa.string()),
        ("time_spent_ms", pa.int64()),
        ("created_at", pa.string()),
        ("completed_at", pa.string()),
        ("display_order", pa.list_(pa.int64())),
        ("outputs", pa.list_(output)),
    ]


FIELDS = {
    ExportFormat.UNPAIRED: _unpaired,
    ExportFormat.RATINGS: _ratings,
    ExportFormat.RANKINGS: _rankings,
    ExportFormat.RAW: _raw,
}


# Aggregated records stand for several annotations: annotation_id is null there.
FOLDED = [("annotation_ids", pa.list_(pa.int64())), ("annotations_folded", pa.int32())]


def schema_for(options: ExportOptions) -> pa.Schema:
    """The Arrow schema of the records these options export."""
    text = _text(options.style)
    if options.format == ExportFormat.PAIRS:
        fields = _pairs(text, margin=options.margin != MarginSource.NONE)
    else:
        fields = FIELDS[options.format](text)
    if options.format == ExportFormat.RANKINGS and (
        options.weighting != Weighting.NONE
    ):
        at = [name for name, _ in fields].index("judges") + 1
        fields = [*fields[:at], ("weight", pa.float64()), *fields[at:]]
    if options.aggregate != Aggregate.NONE:
        at = [name for name, _ in fields].index("source") + 1
        fields = [*fields[:at], *FOLDED, *fields[at:]]
    return pa.schema(fields)
