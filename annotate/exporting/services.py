"""Export entry points: records as an iterator, a file or folder on disk, a download.

The command line, the lead's download page and the REST API all call these.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db.models import QuerySet
from django.utils import timezone

from annotate.exporting.card import dataset_card
from annotate.exporting.options import ExportError, ExportOptions, FileType
from annotate.exporting.reading import (
    Pseudonyms,
    annotation_queryset,
    annotator_ids,
    check_rounds,
    export_trust,
    prompt_groups,
)
from annotate.exporting.records import ExportStats, Record, group_records
from annotate.exporting.schemas import schema_for
from annotate.exporting.writers import (
    ArrowSplitWriter,
    atomic_path,
    jsonl_chunks,
    parquet_chunks,
    save_dataset_folder,
    write_jsonl,
    write_parquet,
    zip_chunks,
)
from annotate.models import Annotation, Project

WHOLE = "all"  # the one split of a JSONL or Parquet file
REJECTED_REASON = "annotation rejected in review (exclude_rejected)"
TRAIN, TEST = "train", "test"
# progress(annotations read, records written), as an export job reports them
Progress = Callable[[int, int], None]
CONTENT_TYPES = {
    FileType.JSONL: "application/x-ndjson",
    FileType.PARQUET: "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class ExportReport:
    """Where an export went and what it holds."""

    path: Path
    card_path: Path
    file_type: FileType
    options: ExportOptions
    stats: ExportStats


@dataclass(frozen=True)
class ExportDownload:
    """A file to stream to the browser: its name, type and bytes (lazily)."""

    filename: str
    content_type: str
    chunks: Iterator[bytes]


def file_type_for(out: Path) -> FileType:
    """The file type an output path asks for: .jsonl, .parquet, or a folder."""
    if out.suffix == ".jsonl":
        return FileType.JSONL
    if out.suffix == ".parquet":
        return FileType.PARQUET
    if not out.suffix:
        return FileType.DATASETS
    raise ExportError(
        f"out: {out} ends in {out.suffix!r}; expected .jsonl, .parquet, or a folder "
        "name without an extension for a datasets folder"
    )


def prompt_split(content_hash: str, options: ExportOptions) -> str:
    """'test' for a stable `test_fraction` share of prompts, else 'train'."""
    digest = hashlib.sha256(f"{options.seed}:{content_hash}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return TEST if position < options.test_fraction else TRAIN


def export_records(*, project: Project, options: ExportOptions) -> Iterator[Record]:
    """Every record of the export, streamed; raises ExportError before the first."""
    stats = ExportStats()
    labelled = _labelled_records(
        _selected(project, options, stats), options, stats, lambda _: WHOLE
    )
    return (record for _, record in labelled)


def export_to_path(
    *, project: Project, options: ExportOptions, out: Path
) -> ExportReport:
    """Write the export to `out` (file type from its name) and its dataset card."""
    out = Path(out)
    file_type = file_type_for(out)
    stats = ExportStats()
    annotations = _selected(project, options, stats)
    schema = schema_for(options)
    if file_type == FileType.DATASETS:
        _write_datasets(out, annotations, options, stats)
        card_path = out / "README.md"
    else:
        labelled = _labelled_records(annotations, options, stats, lambda _: WHOLE)
        records = (record for _, record in labelled)
        if file_type == FileType.JSONL:
            write_jsonl(out, records)
        else:
            write_parquet(out, records, schema)
        card_path = out.with_name(f"{out.stem}.README.md")
    card = dataset_card(
        project=project,
        options=options,
        file_type=file_type,
        schema=schema,
        stats=stats,
        created_at=timezone.now(),
    )
    with atomic_path(card_path) as tmp:
        tmp.write_text(card, encoding="utf-8")
    return ExportReport(out, card_path, file_type, options, stats)


def export_download(
    *,
    project: Project,
    options: ExportOptions,
    file_type: FileType,
    with_card: bool = False,
    progress: Progress | None = None,
) -> ExportDownload:
    """The export as a streamed file, or a .zip of it and its dataset card.

    Options are checked before any byte is sent. The card goes in after the file's
    last row, when its counts are known, so the zip streams as the file does.
    `progress(annotations, rows)` hears what has been read and written so far.
    """
    if file_type not in CONTENT_TYPES:
        raise ExportError(
            f"file_type: {file_type!r} cannot be downloaded; expected "
            f"{' or '.join(CONTENT_TYPES)}"
        )
    stats = ExportStats()
    labelled = _labelled_records(
        _selected(project, options, stats), options, stats, lambda _: WHOLE, progress
    )
    records = (record for _, record in labelled)
    schema = schema_for(options)
    chunks = (
        jsonl_chunks(records)
        if file_type == FileType.JSONL
        else parquet_chunks(records, schema)
    )
    created_at = timezone.now()
    name = f"{project.slug}-{options.format}-{created_at:%Y%m%d-%H%M%S}"
    if not with_card:
        return ExportDownload(f"{name}.{file_type}", CONTENT_TYPES[file_type], chunks)

    def card() -> str:
        return dataset_card(
            project=project,
            options=options,
            file_type=file_type,
            schema=schema,
            stats=stats,
            created_at=created_at,
        )

    return ExportDownload(
        filename=f"{name}.zip",
        content_type="application/zip",
        chunks=zip_chunks(f"{name}.{file_type}", chunks, card, created_at),
    )


def export_annotation_count(*, project: Project, options: ExportOptions) -> int:
    """How many annotations the export reads: an export job's progress total."""
    return _selected(project, options, ExportStats()).count()


def _selected(
    project: Project, options: ExportOptions, stats: ExportStats
) -> QuerySet[Annotation]:
    """The filtered annotations; unknown annotators or rounds are refused here.

    Rejected work the other filters kept is counted in the card's "left out".
    """
    annotators = annotator_ids(project=project, usernames=options.annotators)
    check_rounds(project=project, rounds=options.rounds)
    annotations = annotation_queryset(
        project=project, options=options, annotators=annotators
    )
    if not options.exclude_rejected:
        return annotations
    rejected = annotations.filter(review=Annotation.Review.REJECTED).count()
    if rejected:
        stats.left_out[REJECTED_REASON] += rejected
    return annotations.exclude(review=Annotation.Review.REJECTED)


def _labelled_records(
    annotations: QuerySet[Annotation],
    options: ExportOptions,
    stats: ExportStats,
    split_of: Callable[[str], str],
    progress: Progress | None = None,
) -> Iterator[tuple[str, Record]]:
    """(split, record) for every record, counting rows and prompts per split."""
    done = 0
    trust = export_trust(annotations, options)  # for min_trust and weighting
    for group in prompt_groups(annotations, Pseudonyms()):
        split = split_of(group.content_hash)
        rows_before = stats.rows[split]
        for record in group_records(group, options, stats, trust):
            stats.rows[split] += 1
            yield split, record
        if stats.rows[split] > rows_before:
            stats.prompts[split] += 1
        if progress is not None:
            done += len(group.annotations)
            progress(done, sum(stats.rows.values()))


def _write_datasets(
    out: Path,
    annotations: QuerySet[Annotation],
    options: ExportOptions,
    stats: ExportStats,
) -> None:
    """A save_to_disk folder with train/test split by prompt, via Arrow files."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=out.parent) as work:
        writer = ArrowSplitWriter(Path(work), schema_for(options))
        labelled = _labelled_records(
            annotations, options, stats, lambda key: prompt_split(key, options)
        )
        for split, record in labelled:
            writer.add(split, record)
        arrow_files = writer.close()
        if not arrow_files:
            raise ExportError(
                f"out: no rows match the filters, and a datasets folder cannot be "
                f"empty; nothing was written to {out}"
            )
        save_dataset_folder(out, arrow_files)
