"""Import write path: check every row, then write all of them in one transaction.

Imported judgements become an Annotation marked `imported` with the format, file and
row in `import_source`, on an Assignment with no annotator (no person made them), with
one Judgement per output and the comparisons `expand_ranking` makes of them, so
exports and training read them like a human ranking. Each is keyed by a hash of its
content (annotate.importing.writing.judgement_key): importing the same rows again adds
nothing.

The file is streamed twice: the first pass parses every row and writes nothing, so a
bad file is refused before the database is touched (listing up to MAX_ROW_ERRORS bad
rows); the second parses again and writes chunks of CHUNK_ROWS rows with a few
queries each, all in one transaction: the import is stored whole or not at all.
`progress` hears (phase, rows done, rows in all or None) after every chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction

from annotate.importing import FORMATS, caps
from annotate.importing.formats import Item, detect_format, parse_record
from annotate.importing.outcome import ImportRejected, ImportReport, RowError
from annotate.importing.reading import (
    RowSource,
    Unreadable,
    open_file,
    records_source,
)
from annotate.importing.writing import rows_write
from annotate.models import Project
from training.core.data import DataError

__all__ = [
    "ImportRejected",
    "ImportReport",
    "RowError",
    "import_file",
    "import_records",
]

CHUNK_ROWS = 500  # rows per round of queries; their ids fit any database's IN list
MAX_ROW_ERRORS = 100  # a file this wrong needs fixing; reading on adds nothing
CHECKING, WRITING = "checking", "writing"

Progress = Callable[[str, int, int | None], None]


def _quiet(phase: str, done: int, total: int | None) -> None:
    """The progress callback of callers that show none."""


def import_file(
    *,
    path: Path,
    project_slug: str,
    format: str = "auto",
    source_name: str = "",
    progress: Progress = _quiet,
) -> ImportReport:
    """Import a JSONL/JSON/CSV/Parquet file or datasets folder; create the project.

    `source_name` names the file in `import_source` and messages (an upload's own
    name); it defaults to the file's name. Raises ImportRejected, writing nothing.
    """
    source_name = source_name or path.name
    _require_slug(project_slug)
    try:
        source = open_file(path, source_name)
    except DataError as err:
        raise ImportRejected.whole(str(err)) from err
    return _import(source, format, lambda: _project(project_slug), progress)


def import_records(
    *,
    project: Project,
    records: list[Any],
    format: str = "auto",
    source_name: str,
    progress: Progress = _quiet,
) -> ImportReport:
    """Import records already in memory (e.g. a request body), numbered from 1."""
    return _import(
        records_source(records, source_name), format, lambda: project, progress
    )


def _import(
    source: RowSource,
    format: str,
    project: Callable[[], Project],
    progress: Progress,
) -> ImportReport:
    fmt, total = _checked(source, format, progress)
    try:
        with transaction.atomic():
            return _written(project(), source, fmt, total, progress)
    except IntegrityError as err:
        # A chunk reads what is stored before it writes: only a concurrent writer
        # in between (PostgreSQL; SQLite lets one writer in) breaks a unique key.
        raise ImportRejected.whole(
            f"{source.name}: another import or generation stored some of the same "
            f"rows at the same time ({err}); nothing was imported: import it again"
        ) from err


def _checked(source: RowSource, format: str, progress: Progress) -> tuple[str, int]:
    """The format and the row count; ImportRejected listing the bad rows."""
    if format not in FORMATS:
        raise ImportRejected.whole(
            f"unknown format {format!r}; expected one of {', '.join(FORMATS)}"
        )
    fmt = None if format == "auto" else format
    errors: list[RowError] = []
    rows = 0
    for row, record in _capped(source):
        rows += 1
        if fmt is None and not isinstance(record, Unreadable):
            fmt = _detected(row, record)
        try:
            _item(fmt, record)
        except DataError as err:
            errors.append(RowError(row, str(err)))
        if len(errors) == MAX_ROW_ERRORS:
            errors.append(
                RowError(None, f"stopped reading at row {row}: {len(errors)} bad rows")
            )
            break
        if rows % CHUNK_ROWS == 0:
            progress(CHECKING, rows, source.total)
    if not rows:
        raise ImportRejected.whole(f"{source.name}: no records (the file is empty)")
    if errors:
        raise ImportRejected(errors)
    assert fmt is not None  # a readable row told it, or its row is an error
    progress(CHECKING, rows, rows)
    return fmt, rows


def _capped(source: RowSource) -> Iterator[tuple[int, Any]]:
    """The source's rows; ImportRejected past RANKWISE_IMPORT_MAX_ROWS, or where the
    file stops being readable."""
    cap = caps.max_rows()
    try:
        for count, row in enumerate(source.read(), start=1):
            if count > cap:
                raise ImportRejected.whole(
                    f"{source.name} has more than {cap:,} rows; expected at most "
                    f"{cap:,} (RANKWISE_IMPORT_MAX_ROWS)"
                )
            yield row
    except DataError as err:  # the reader's: the file cannot be read on from here
        raise ImportRejected.whole(str(err)) from err


def _written(
    project: Project, source: RowSource, fmt: str, total: int, progress: Progress
) -> ImportReport:
    report = ImportReport(format=fmt, rows=0)
    chunk: list[tuple[int, Item]] = []
    for row, record in _capped(source):
        chunk.append((row, _item(fmt, record)))
        if len(chunk) == CHUNK_ROWS:
            _write_chunk(project, chunk, source.name, report, progress, total)
            chunk = []
    if chunk:
        _write_chunk(project, chunk, source.name, report, progress, total)
    return report


def _write_chunk(
    project: Project,
    chunk: list[tuple[int, Item]],
    source_name: str,
    report: ImportReport,
    progress: Progress,
    total: int,
) -> None:
    rows_write(
        project=project,
        rows=chunk,
        fmt=report.format,
        source_name=source_name,
        report=report,
    )
    progress(WRITING, report.rows, total)


def _item(fmt: str | None, record: Any) -> Item:
    """The row parsed; DataError names what is wrong, as for an unreadable row.

    `fmt` is None only before a readable row told it, so for an Unreadable row.
    """
    if isinstance(record, Unreadable):
        raise DataError(record.message)
    assert fmt is not None
    return parse_record(fmt, record)


def _detected(row: int, record: Any) -> str:
    """The format the first readable record's fields tell."""
    try:
        return detect_format(record)
    except DataError as err:
        raise ImportRejected([RowError(row, str(err))]) from err


def _require_slug(slug: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError as err:
        raise ImportRejected.whole(
            f"project {slug!r}: {' '.join(err.messages)}"
        ) from err


def _project(slug: str) -> Project:
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
    return project
