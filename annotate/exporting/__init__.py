"""Exporting judgements in TRL's formats: JSONL, Parquet or a `datasets` folder."""

from annotate.exporting.options import (
    AGGREGATE_HELP,
    MARGIN_HELP,
    MIN_TRUST_HELP,
    TIES_HELP,
    WEIGHT_HELP,
    ExportError,
    ExportFormat,
    ExportOptions,
    FileType,
    MarginSource,
    SourceFilter,
    Style,
    TiePolicy,
)
from annotate.exporting.services import (
    ExportDownload,
    ExportReport,
    export_download,
    export_records,
    export_to_path,
    file_type_for,
)

__all__ = [
    "AGGREGATE_HELP",
    "MARGIN_HELP",
    "MIN_TRUST_HELP",
    "TIES_HELP",
    "WEIGHT_HELP",
    "ExportDownload",
    "ExportError",
    "ExportFormat",
    "ExportOptions",
    "ExportReport",
    "FileType",
    "MarginSource",
    "SourceFilter",
    "Style",
    "TiePolicy",
    "export_download",
    "export_records",
    "export_to_path",
    "file_type_for",
]
