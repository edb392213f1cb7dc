"""Exporting judgements in TRL's formats: JSONL, Parquet or a `datasets` folder."""

from annotate.exporting.options import (
    ExportError,
    ExportFormat,
    ExportOptions,
    FileType,
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
    "ExportDownload",
    "ExportError",
    "ExportFormat",
    "ExportOptions",
    "ExportReport",
    "FileType",
    "SourceFilter",
    "Style",
    "TiePolicy",
    "export_download",
    "export_records",
    "export_to_path",
    "file_type_for",
]
