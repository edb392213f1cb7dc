"""Bulk writes of checked import rows: a few queries per chunk of rows, not per row.

For each chunk, one query finds which of its prompts, outputs and judgements the
project already has, and bulk_create stores the rest (in batches of the database's
parameter limit). New judgements are expanded into comparisons in memory by
services.comparisons_of, as a person's submitted ranking is. A row
repeated within a chunk is counted once as added and then as already there; an
earlier chunk's rows are found by the next chunk's queries (one transaction).

bulk_create skips `save()`, so content hashes and an output's rendered HTML are set
here as Prompt.save and Candidate.save set them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from annotate.importing.formats import Item
from annotate.importing.outcome import ImportRejected, ImportReport, RowError
from annotate.models import (
    Annotation,
    Assignment,
    Candidate,
    Comparison,
    GoldRanking,
    Judgement,
    Project,
    Prompt,
    content_hash,
)
from annotate.rendering import render_markdown, render_prompt
from annotate.services import comparisons_of

# File names are cut to this so format, name and row fit Annotation.import_source.
ORIGIN_NAME_CHARS = 250


@dataclass(frozen=True)
class _Stored:
    """One row as stored: its prompt, and the candidate of each output in order."""

    row: int
    item: Item
    prompt_id: int
    prompt_hash: str
    candidate_hashes: tuple[str, ...]
    candidate_ids: tuple[int, ...]


def rows_write(
    *,
    project: Project,
    rows: Sequence[tuple[int, Item]],
    fmt: str,
    source_name: str,
    report: ImportReport,
) -> None:
    """Store a chunk of parsed rows and count what was new; the caller's transaction."""
    prompt_hashes, prompt_ids = _prompts(project, [item for _, item in rows], report)
    stored = _candidates(rows, prompt_hashes, prompt_ids, report)
    origin = f"{fmt} · {source_name[:ORIGIN_NAME_CHARS]} row "
    judged = [s for s in stored if s.item.verdicts]
    _require_known_flags(project, judged)
    _judgements(project, judged, origin, report)
    _gold_references([s for s in stored if s.item.gold], report)
    report.rows += len(rows)


def _require_known_flags(project: Project, judged: list[_Stored]) -> None:
    """Refuse, naming each row and field, flag keys the project's checklists lack:
    the task page and the API refuse them too."""
    output_keys = set(project.flag_keys)
    prompt_keys = {flag["key"] for flag in project.prompt_flags}
    errors = []
    for stored in judged:
        item = stored.item
        assert item.verdicts is not None
        fields = [
            (f"{name}[{i}]", keys, output_keys)
            for i, verdict in enumerate(item.verdicts)
            for name, keys in (("flags", verdict.flags), ("flags_no", verdict.flags_no))
        ] + [
            ("prompt_flags", item.prompt_flags, prompt_keys),
            ("prompt_flags_no", item.prompt_flags_no, prompt_keys),
        ]
        for field, keys, known in fields:
            unknown = [key for key in keys if key not in known]
            if unknown:
                errors.append(
                    RowError(
                        stored.row,
                        f"field '{field}' has {', '.join(map(repr, unknown))}, not "
                        f"in this project's checklist ({', '.join(sorted(known))})",
                    )
                )
                break
    if errors:
        raise ImportRejected(errors)


def _gold_references(golden: list[_Stored], report: ImportReport) -> None:
    """Each `gold` row's ranking as its prompt's reference (a later row of the same
    prompt replaces an earlier one's, as a lead setting it again would).

    A reference ranks every output of its prompt: a prompt with outputs the row does
    not rank refuses the import, naming the row.
    """
    outputs: dict[int, set[int]] = defaultdict(set)
    for prompt_id, candidate_id in Candidate.objects.filter(
        prompt_id__in={stored.prompt_id for stored in golden}
    ).values_list("prompt_id", "id"):
        outputs[prompt_id].add(candidate_id)
    errors = [
        RowError(
            stored.row,
            f"field 'gold': the prompt has {len(outputs[stored.prompt_id])} outputs "
            f"and the row ranks {len(stored.candidate_ids)}; a gold reference ranks "
            "every output of its prompt",
        )
        for stored in golden
        if outputs[stored.prompt_id] != set(stored.candidate_ids)
    ]
    if errors:
        raise ImportRejected(errors)
    for stored in golden:
        assert stored.item.verdicts is not None
        ranks = {
            str(candidate): verdict.rank
            for candidate, verdict in sorted(
                zip(stored.candidate_ids, stored.item.verdicts, strict=True)
            )
        }
        GoldRanking.objects.update_or_create(
            prompt_id=stored.prompt_id,
            defaults={"ranks": ranks, "from_annotation": None, "created_by": None},
        )
        report.added["gold references"] += 1


def _prompt_fields(item: Item) -> tuple[str, list[dict[str, str]]]:
    """(text, messages) as prompt_create stores them (the record is cleaned)."""
    if isinstance(item.prompt, str):
        return item.prompt, []
    return "", [dict(message) for message in item.prompt]


def _prompts(
    project: Project, items: Sequence[Item], report: ImportReport
) -> tuple[list[str], dict[str, int]]:
    """Each item's prompt hash, and hash → id with the new prompts created."""
    fields = [_prompt_fields(item) for item in items]
    hashes = [content_hash(text, messages) for text, messages in fields]
    known = Prompt.objects.filter(project=project, content_hash__in=set(hashes))
    ids = dict(known.values_list("content_hash", "id"))
    new: dict[str, Prompt] = {}
    for key, (text, messages) in zip(hashes, fields, strict=True):
        created = key not in ids and key not in new
        report.count("prompts", created=created)
        if created:
            new[key] = Prompt(
                project=project,
                text=text,
                messages=messages,
                html=render_prompt(text, messages),
                content_hash=key,
            )
    for prompt in Prompt.objects.bulk_create(new.values()):
        ids[prompt.content_hash] = prompt.pk
    return hashes, ids


def _candidates(
    rows: Sequence[tuple[int, Item]],
    prompt_hashes: list[str],
    prompt_ids: dict[str, int],
    report: ImportReport,
) -> list[_Stored]:
    """Each row with its candidates' ids, the new candidates created."""
    keyed = [
        (prompt_ids[prompt_hash], [content_hash(o.text, o.source) for o in i.outputs])
        for (_, i), prompt_hash in zip(rows, prompt_hashes, strict=True)
    ]
    ids = {
        (prompt_id, key): pk
        for prompt_id, key, pk in Candidate.objects.filter(
            prompt_id__in={prompt_id for prompt_id, _ in keyed},
            content_hash__in={key for _, keys in keyed for key in keys},
        ).values_list("prompt_id", "content_hash", "id")
    }
    new: dict[tuple[int, str], Candidate] = {}
    for (_, item), (prompt_id, keys) in zip(rows, keyed, strict=True):
        for output, key in zip(item.outputs, keys, strict=True):
            created = (prompt_id, key) not in ids and (prompt_id, key) not in new
            report.count("candidates", created=created)
            if created:
                new[prompt_id, key] = Candidate(
                    prompt_id=prompt_id,
                    text=output.text,
                    html=render_markdown(output.text),
                    source=output.source,
                    content_hash=key,
                )
    for candidate in Candidate.objects.bulk_create(new.values()):
        ids[candidate.prompt_id, candidate.content_hash] = candidate.pk
    return [
        _Stored(
            row,
            item,
            prompt_id,
            prompt_hash,
            tuple(keys),
            tuple(ids[prompt_id, key] for key in keys),
        )
        for (row, item), prompt_hash, (prompt_id, keys) in zip(
            rows, prompt_hashes, keyed, strict=True
        )
    ]


def judgement_key(project: Project, stored: _Stored) -> uuid.UUID:
    """The client id an imported judgement is stored under, from its content.

    The same prompt, outputs, ranks and ratings give the same key, so importing them
    again adds nothing; a named annotator and flag answers are part of the content, so
    two people's identical rankings stay two. Rows with neither keep the key they
    always had.
    """
    assert stored.item.verdicts is not None
    judged = sorted(
        (key, verdict.rank, verdict.likert)
        for key, verdict in zip(
            stored.candidate_hashes, stored.item.verdicts, strict=True
        )
    )
    parts: list[object] = ["import", project.pk, stored.prompt_hash, judged]
    if stored.item.annotator:
        parts.append({"annotator": stored.item.annotator})
    answers = _flag_answers(stored)
    if answers:
        parts.append({"flags": answers})
    return uuid.UUID(content_hash(*parts)[:32])


def _flag_answers(stored: _Stored) -> list[object]:
    """The row's flag answers by output content, for its key; [] when it has none."""
    item = stored.item
    assert item.verdicts is not None
    by_output = sorted(
        (key, sorted(v.flags), sorted(v.flags_no))
        for key, v in zip(stored.candidate_hashes, item.verdicts, strict=True)
        if v.flags or v.flags_no
    )
    prompt = [sorted(item.prompt_flags), sorted(item.prompt_flags_no)]
    return [by_output, prompt] if by_output or any(prompt) else []


def _judgements(
    project: Project, judged: list[_Stored], origin: str, report: ImportReport
) -> None:
    """Imported annotations with their judgements and comparisons, once per key."""
    keys = [judgement_key(project, stored) for stored in judged]
    existing = set(
        Annotation.objects.filter(client_id__in=set(keys)).values_list(
            "client_id", flat=True
        )
    )
    new: dict[uuid.UUID, _Stored] = {}
    for key, stored in zip(keys, judged, strict=True):
        created = key not in existing and key not in new
        report.count("annotations", created=created)
        if created:
            new[key] = stored
    now = timezone.now()
    assignments = Assignment.objects.bulk_create(
        Assignment(
            prompt_id=stored.prompt_id,
            display_order=list(stored.candidate_ids),
            status=Assignment.Status.SUBMITTED,
            completed_at=now,
        )
        for stored in new.values()
    )
    annotations = Annotation.objects.bulk_create(
        Annotation(
            assignment=assignment,
            client_id=key,
            source=Annotation.Source.IMPORTED,
            import_source=f"{origin}{stored.row}",
            import_annotator=stored.item.annotator,
            import_margin=stored.item.margin,
            import_weight=stored.item.weight,
            prompt_flags=list(stored.item.prompt_flags),
            prompt_flags_no=list(stored.item.prompt_flags_no),
        )
        for assignment, (key, stored) in zip(assignments, new.items(), strict=True)
    )
    _expand(project, list(zip(annotations, new.values(), strict=True)), report)


def _expand(
    project: Project,
    annotations: list[tuple[Annotation, _Stored]],
    report: ImportReport,
) -> None:
    judgements, comparisons = [], []
    for annotation, stored in annotations:
        assert stored.item.verdicts is not None
        verdicts = dict(zip(stored.candidate_ids, stored.item.verdicts, strict=True))
        judgements += [
            Judgement(
                annotation=annotation,
                candidate_id=cid,
                rank=v.rank,
                likert=v.likert,
                flags=list(v.flags),
                flags_no=list(v.flags_no),
            )
            for cid, v in verdicts.items()
        ]
        comparisons += comparisons_of(
            annotation,
            {cid: v.rank for cid, v in verdicts.items()},
            {cid: v.likert for cid, v in verdicts.items()},
            keep_ties=project.keep_ties,
        )
    Judgement.objects.bulk_create(judgements)
    Comparison.objects.bulk_create(comparisons)
    report.added["comparisons"] += len(comparisons)
