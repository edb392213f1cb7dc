"""Judged annotations for export, one prompt at a time, in bounded memory.

Annotations are read in chunks ordered by prompt, so each prompt's rankings arrive
together (agreement needs them) and no more than one chunk is held at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from annotate.exporting.options import (
    ExportError,
    ExportFormat,
    ExportOptions,
    SourceFilter,
)
from annotate.models import Annotation, Judgement, Project
from annotate.quality.selectors import annotator_trust

CHUNK_SIZE = 500  # annotations per query; their judgements are prefetched per chunk


@dataclass(frozen=True)
class JudgedOutput:
    candidate_id: int
    text: str
    model: str
    round: int | None  # training round that generated it; None for human outputs
    rank: int
    likert: int
    flags: tuple[str, ...]  # ticked, or answered Yes
    flags_no: tuple[str, ...] = ()  # answered No, where the project asks Yes/No


@dataclass(frozen=True)
class JudgedAnnotation:
    annotation_id: int
    annotator: str | None  # pseudonym, never the username; None when imported
    source: str
    skipped: bool
    skip_reason: str
    notes: str
    import_source: str  # format, file and row of an imported annotation
    time_spent_ms: int | None
    created_at: datetime
    completed_at: datetime | None
    display_order: tuple[int, ...]
    outputs: tuple[JudgedOutput, ...]  # best rank first
    prompt_flags: tuple[str, ...] = ()  # the prompt's flags ticked, or answered Yes
    prompt_flags_no: tuple[str, ...] = ()  # the prompt's flags answered No

    @property
    def ranks(self) -> dict[int, int]:
        return {output.candidate_id: output.rank for output in self.outputs}

    @property
    def likert(self) -> dict[int, int]:
        return {output.candidate_id: output.likert for output in self.outputs}


@dataclass(frozen=True)
class PromptGroup:
    """A prompt and every exported annotation of it."""

    prompt_id: int
    content_hash: str
    text: str
    messages: list[dict[str, str]]
    annotations: tuple[JudgedAnnotation, ...]


class Pseudonyms:
    """Stable per-user ids: HMAC-SHA256 of the user id keyed with SECRET_KEY."""

    def __init__(self) -> None:
        self._key = settings.SECRET_KEY.encode()
        self._known: dict[int, str] = {}

    def __call__(self, user_id: int) -> str:
        if user_id not in self._known:
            digest = hmac.new(self._key, f"annotator:{user_id}".encode(), "sha256")
            self._known[user_id] = digest.hexdigest()[:16]
        return self._known[user_id]


def export_trust(
    annotations: QuerySet[Annotation], options: ExportOptions
) -> dict[str, float | None]:
    """Annotator pseudonym → trust, when min_trust or weighting needs it (else {}).

    The project is the one the exported annotations belong to.
    """
    if not options.quality.needs_trust:
        return {}
    project = Project.objects.filter(
        prompts__assignments__annotation__in=annotations.values("pk")[:1]
    ).first()
    if project is None:  # nothing to export, so nobody to weigh
        return {}
    pseudonyms = Pseudonyms()
    trust = annotator_trust(project=project)
    return {pseudonyms(user_id): value for user_id, value in trust.items()}


def annotator_ids(*, project: Project, usernames: Sequence[str]) -> list[int]:
    """Ids of the named users who hold assignments in the project; refuses others."""
    found = dict(
        User.objects.filter(
            username__in=usernames, assignments__prompt__project=project
        )
        .distinct()
        .values_list("username", "id")
    )
    missing = sorted(set(usernames) - set(found))
    if missing:
        raise ExportError(
            f"annotators: {', '.join(missing)} never annotated in project "
            f"'{project.slug}'"
        )
    return list(found.values())


def check_rounds(*, project: Project, rounds: Sequence[int]) -> None:
    """Refuse round numbers the project does not have."""
    known = set(project.rounds.values_list("number", flat=True))
    missing = sorted(set(rounds) - known)
    if missing:
        listed = ", ".join(map(str, sorted(known))) or "none yet"
        raise ExportError(
            f"rounds: project '{project.slug}' has no round "
            f"{', '.join(map(str, missing))}; its rounds: {listed}"
        )


def annotation_queryset(
    *, project: Project, options: ExportOptions, annotators: Sequence[int]
) -> QuerySet[Annotation]:
    """The project's annotations that pass the row filters, ordered by prompt."""
    annotations = Annotation.objects.filter(assignment__prompt__project=project)
    if options.format != ExportFormat.RAW:
        annotations = annotations.filter(skipped=False)
    if options.source != SourceFilter.ALL:
        annotations = annotations.filter(source=options.source)
    if annotators:
        annotations = annotations.filter(assignment__annotator_id__in=annotators)
    if options.rounds:
        from_rounds = Judgement.objects.filter(
            annotation=OuterRef("pk"),
            candidate__origin__round__number__in=options.rounds,
        )
        annotations = annotations.filter(Exists(from_rounds))
    judgements = Judgement.objects.select_related("candidate__origin__round")
    return (
        annotations.select_related("assignment__prompt")
        .prefetch_related(
            Prefetch("judgements", queryset=judgements.order_by("rank", "candidate"))
        )
        .order_by("assignment__prompt_id", "id")
    )


def prompt_groups(
    annotations: QuerySet[Annotation], pseudonyms: Pseudonyms
) -> Iterator[PromptGroup]:
    """Consecutive annotations of one prompt, grouped, as plain values."""
    rows = annotations.iterator(chunk_size=CHUNK_SIZE)
    for _, same_prompt in groupby(rows, key=lambda row: row.assignment.prompt_id):
        members = list(same_prompt)
        prompt = members[0].assignment.prompt
        yield PromptGroup(
            prompt_id=prompt.pk,
            content_hash=prompt.content_hash,
            text=prompt.text,
            messages=prompt.messages,
            annotations=tuple(_judged(row, pseudonyms) for row in members),
        )


def _judged(annotation: Annotation, pseudonyms: Pseudonyms) -> JudgedAnnotation:
    assignment = annotation.assignment
    return JudgedAnnotation(
        annotation_id=annotation.pk,
        # An imported judgement carries the pseudonym its data named, so that an
        # export re-imported elsewhere still tells its annotators apart.
        annotator=(
            pseudonyms(assignment.annotator_id)
            if assignment.annotator_id is not None
            else annotation.import_annotator or None
        ),
        source=annotation.source,
        skipped=annotation.skipped,
        skip_reason=annotation.skip_reason,
        notes=annotation.notes,
        import_source=annotation.import_source,
        time_spent_ms=assignment.time_spent_ms,
        created_at=annotation.created_at,
        completed_at=assignment.completed_at,
        display_order=tuple(assignment.display_order),
        outputs=tuple(_output(judgement) for judgement in annotation.judgements.all()),
        prompt_flags=tuple(annotation.prompt_flags),
        prompt_flags_no=tuple(annotation.prompt_flags_no),
    )


def _output(judgement: Judgement) -> JudgedOutput:
    candidate = judgement.candidate
    origin = getattr(candidate, "origin", None)  # absent for human outputs
    return JudgedOutput(
        candidate_id=candidate.pk,
        text=candidate.text,
        model=candidate.source,
        round=origin.round.number if origin is not None else None,
        rank=judgement.rank,
        likert=judgement.likert,
        flags=tuple(judgement.flags),
        flags_no=tuple(judgement.flags_no),
    )
