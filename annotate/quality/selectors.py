"""A project's annotation quality, read from its stored judgements.

Only rankings people submitted in rankwise count: imported judgements have no
annotator to judge, and skipped tasks have no ranking (they are counted apart).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Count

from annotate.models import Annotation, Assignment, Judgement, Project
from annotate.quality.report import QualityReport, RankedTask, quality_report


def quality_report_compute(*, project: Project) -> QualityReport:
    """Agreement, α, trust, position bias and timing of the project's annotators."""
    skipped = (
        Assignment.objects.filter(
            prompt__project=project,
            annotator__isnull=False,
            status=Assignment.Status.SKIPPED,
        )
        .values("annotator__username")
        .annotate(n=Count("id"))
    )
    return quality_report(
        _ranked_tasks(project),
        flag_keys=project.flag_keys,
        skipped={row["annotator__username"]: row["n"] for row in skipped},
    )


def quality_report_data(*, project: Project, report: QualityReport) -> dict[str, Any]:
    """The report as `quality_report --json` prints it (shape in the README)."""
    return {
        "project": {
            "slug": project.slug,
            "name": project.name,
            **dataclasses.asdict(report.project),
        },
        "annotators": [
            # Gold tasks do not exist yet: gold_accuracy stays null until they do.
            {**dataclasses.asdict(annotator), "gold_accuracy": None}
            for annotator in report.annotators
        ],
        "pairs": [
            {
                "annotators": list(pair.annotators),
                "agreement": pair.agreement,
                "shared": pair.shared,
                "prompts": pair.prompts,
            }
            for pair in report.pairs
        ],
    }


def _ranked_tasks(project: Project) -> list[RankedTask]:
    """Every submitted human ranking of the project, with what was shown and when."""
    submitted = Assignment.objects.filter(
        prompt__project=project,
        annotator__isnull=False,
        status=Assignment.Status.SUBMITTED,
        annotation__skipped=False,
        annotation__source=Annotation.Source.HUMAN,
    )
    ranks: dict[int, dict[int, int]] = defaultdict(dict)
    likert: dict[int, dict[int, int]] = defaultdict(dict)
    flags: dict[int, dict[int, frozenset[str]]] = defaultdict(dict)
    for pk, output, rank, rating, ticked in Judgement.objects.filter(
        annotation__assignment__in=submitted.values("id")
    ).values_list(
        "annotation__assignment_id", "candidate_id", "rank", "likert", "flags"
    ):
        ranks[pk][output] = rank
        likert[pk][output] = rating
        flags[pk][output] = frozenset(ticked)
    rows = submitted.values_list(
        "id",
        "annotator__username",
        "prompt_id",
        "display_order",
        "time_spent_ms",
        "created_at",
        "completed_at",
    )
    return [
        RankedTask(
            annotator=username,
            prompt=prompt_id,
            # An output deleted since it was shown has no judgement left to read.
            display_order=tuple(output for output in order if output in ranks[pk]),
            ranks=ranks[pk],
            likert=likert[pk],
            flags=flags[pk],
            seconds=_seconds(spent_ms, created_at, completed_at),
        )
        for pk, username, prompt_id, order, spent_ms, created_at, completed_at in rows
    ]


def _seconds(
    spent_ms: int | None, created_at: datetime, completed_at: datetime | None
) -> float | None:
    """The browser's measure of time on the task, else hand-out to submit."""
    if spent_ms is not None:
        return spent_ms / 1000
    if completed_at is None:
        return None
    return (completed_at - created_at).total_seconds()
