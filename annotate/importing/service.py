"""Import write path: validate every row, then write all of it in one transaction.

Imported judgements become an Annotation marked `imported` with the format, file and
row in `import_source`, on an Assignment with no annotator (no person made them), with
one Judgement per output and the comparisons `ranking_expand` makes of them, so
exports and training read them like a human ranking. Each is keyed by a hash of its
content: importing the same rows again adds nothing.
"""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone

from annotate.importing import FORMATS
from annotate.importing.formats import (
    Item,
    Output,
    Verdict,
    detect_format,
    parse_record,
)
from annotate.importing.reading import Row, read_rows
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Judgement,
    Project,
    Prompt,
    content_hash,
)
from annotate.services import candidate_create, prompt_create, ranking_expand
from training.core.data import DataError

# Kept once per content; comparisons are only made for new annotations.
DEDUPLICATED = ("prompts", "candidates", "annotations")
# File names are cut to this so format, name and row fit Annotation.import_source.
ORIGIN_NAME_CHARS = 250
MAX_SHOWN_ERRORS = 20  # enough to see the pattern; the exception keeps them all


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row (None: with the file as a whole)."""

    row: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.row is None else f"row {self.row}: {self.message}"


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
        ]


def import_file(
    *, path: Path, project_slug: str, format: str = "auto", source_name: str = ""
) -> ImportReport:
    """Import a JSONL/CSV/Parquet file or datasets folder; create the project if new.

    `source_name` names the file in `import_source` and messages (an upload's own
    name); it defaults to the file's name. Raises ImportRejected, writing nothing.
    """
    source_name = source_name or path.name
    try:
        rows, cell_errors = read_rows(path)
    except DataError as err:
        raise ImportRejected.whole(_renamed(err, path, source_name)) from err
    errors = [RowError(row, message) for row, message in cell_errors]
    fmt, items = _parsed(rows, format, errors)
    with transaction.atomic():
        project = _project(project_slug)
        return _write(project, items, fmt, source_name)


def import_upload(
    *, upload: UploadedFile, project: Project, format: str = "auto"
) -> ImportReport:
    """Import an uploaded file, kept under its own name while the import reads it."""
    name = Path(upload.name or "upload").name
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / name
        with saved.open("wb") as file:
            for chunk in upload.chunks():
                file.write(chunk)
        return import_file(
            path=saved, project_slug=project.slug, format=format, source_name=name
        )


def import_records(
    *, project: Project, records: Sequence[Any], format: str = "auto", source_name: str
) -> ImportReport:
    """Import records already in memory (e.g. a request body), numbered from 1."""
    if not records:
        raise ImportRejected.whole(f"{source_name}: no records")
    fmt, items = _parsed(list(enumerate(records, start=1)), format, [])
    with transaction.atomic():
        return _write(project, items, fmt, source_name)


def _parsed(
    rows: list[Row], format: str, errors: list[RowError]
) -> tuple[str, list[tuple[int, Item]]]:
    """The format and every row parsed; ImportRejected listing all bad rows."""
    fmt = _resolved_format(format, rows[0])
    unreadable = {error.row for error in errors}  # their cells, not fields, are wrong
    items = []
    for row, record in rows:
        if row in unreadable:
            continue
        try:
            items.append((row, parse_record(fmt, record)))
        except DataError as err:
            errors.append(RowError(row, str(err)))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: error.row or 0))
    return fmt, items


def _resolved_format(format: str, first: Row) -> str:
    """The named format, or for "auto" the one the first record's fields tell."""
    if format not in FORMATS:
        raise ImportRejected.whole(
            f"unknown format {format!r}; expected one of {', '.join(FORMATS)}"
        )
    if format != "auto":
        return format
    row, record = first
    try:
        return detect_format(record)
    except DataError as err:
        raise ImportRejected([RowError(row, str(err))]) from err


def _project(slug: str) -> Project:
    try:
        validate_slug(slug)
    except ValidationError as err:
        raise ImportRejected.whole(
            f"project {slug!r}: {' '.join(err.messages)}"
        ) from err
    project, _ = Project.objects.get_or_create(slug=slug, defaults={"name": slug})
    return project


def _write(
    project: Project, items: Iterable[tuple[int, Item]], fmt: str, source_name: str
) -> ImportReport:
    report = ImportReport(format=fmt, rows=0)
    for row, item in items:
        report.rows += 1
        prompt = _prompt(project, item, report)
        candidates = [_candidate(prompt, output, report) for output in item.outputs]
        if item.verdicts is not None:
            judged = list(zip(candidates, item.verdicts, strict=True))
            origin = f"{fmt} · {source_name[:ORIGIN_NAME_CHARS]} row {row}"
            _annotation(project, prompt, judged, origin, report)
    return report


def _prompt(project: Project, item: Item, report: ImportReport) -> Prompt:
    if isinstance(item.prompt, str):
        prompt, created = prompt_create(project=project, text=item.prompt)
    else:
        prompt, created = prompt_create(project=project, messages=item.prompt)
    report.count("prompts", created=created)
    return prompt


def _candidate(prompt: Prompt, output: Output, report: ImportReport) -> Candidate:
    candidate, created = candidate_create(
        prompt=prompt, text=output.text, source=output.source
    )
    report.count("candidates", created=created)
    return candidate


def _annotation(
    project: Project,
    prompt: Prompt,
    judged: list[tuple[Candidate, Verdict]],
    origin: str,
    report: ImportReport,
) -> None:
    """Store a judgement once, as an imported annotation, and expand it into pairs."""
    key = content_hash(
        "import",
        project.pk,
        prompt.content_hash,
        sorted((c.content_hash, v.rank, v.likert) for c, v in judged),
    )
    client_id = uuid.UUID(key[:32])
    if Annotation.objects.filter(client_id=client_id).exists():
        report.count("annotations", created=False)
        return
    assignment = Assignment.objects.create(
        prompt=prompt,
        display_order=[candidate.pk for candidate, _ in judged],
        status=Assignment.Status.SUBMITTED,
        completed_at=timezone.now(),
    )
    annotation = Annotation.objects.create(
        assignment=assignment,
        client_id=client_id,
        source=Annotation.Source.IMPORTED,
        import_source=origin,
    )
    Judgement.objects.bulk_create(
        Judgement(annotation=annotation, candidate=c, rank=v.rank, likert=v.likert)
        for c, v in judged
    )
    report.count("annotations", created=True)
    report.added["comparisons"] += len(ranking_expand(annotation=annotation))


def _renamed(err: DataError, path: Path, source_name: str) -> str:
    """The reader's message with the upload's own name instead of a temporary path."""
    return str(err).replace(str(path), source_name)
