"""A project's annotation quality, read from its stored judgements.

Only rankings people submitted in rankwise count: imported judgements have no
annotator to judge, and skipped tasks have no ranking (they are counted apart).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count

from annotate.models import (
    Annotation,
    Assignment,
    GoldRanking,
    Judgement,
    Project,
    Prompt,
)
from annotate.quality.report import (
    AnnotatorQuality,
    QualityReport,
    RankedTask,
    gold_score,
    quality_report,
    task_taus,
)
from annotate.quality.stats import Ranks


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
        ranked_tasks(project),
        flag_keys=project.flag_keys,
        skipped={row["annotator__username"]: row["n"] for row in skipped},
        gold=gold_references(project=project),
    )


def gold_references(*, project: Project) -> dict[int, Ranks]:
    """Gold prompt id → its reference ranking (output id → rank)."""
    return {
        gold.prompt_id: gold.output_ranks
        for gold in GoldRanking.objects.filter(prompt__project=project)
    }


def annotator_trust(*, project: Project) -> dict[int, float | None]:
    """User id → trust of each annotator in the quality report (None: no figure)."""
    report = quality_report_compute(project=project)
    ids = dict(
        User.objects.filter(
            username__in=[row.annotator for row in report.annotators]
        ).values_list("username", "id")
    )
    return {ids[row.annotator]: row.trust for row in report.annotators}


# The review queue's trust bands: (label, lowest trust in the band).
TRUST_BANDS = {
    "low": ("Low (below 0.2)", 0.0),
    "medium": ("Medium (0.2 to 0.5)", 0.2),
    "high": ("High (0.5 and up)", 0.5),
}
NO_TRUST = "none"  # no figure yet: no shared or gold task


def trust_band(trust: float | None) -> str:
    """The TRUST_BANDS key a trust figure falls in, or NO_TRUST."""
    if trust is None:
        return NO_TRUST
    return max((low, key) for key, (_, low) in TRUST_BANDS.items() if trust >= low)[1]


def annotators_in_band(*, project: Project, band: str) -> list[str]:
    """Usernames of the project's annotators whose trust falls in `band`."""
    report = quality_report_compute(project=project)
    return [row.annotator for row in report.annotators if trust_band(row.trust) == band]


@dataclass(frozen=True)
class OwnWork:
    """What an annotator may see of their own quality: figures and reviews."""

    figures: AnnotatorQuality | None  # None before their first task
    approved: int
    rejected: list[Annotation]  # newest review first, with the lead's comment
    gold_checks: list[GoldCheck]  # newest first; none unless the project shows them


@dataclass(frozen=True)
class GoldCheck:
    """A check (gold) task the annotator did, beside the lead's reference ranking."""

    assignment: int
    prompt: Prompt
    completed_at: datetime | None
    agreed: int  # output pairs ordered as the reference orders them
    shared: int  # output pairs both the ranking and the reference order
    yours: str  # the ranking in the letters the annotator saw: "A > C = B"
    reference: str


def own_work(*, project: Project, annotator: User) -> OwnWork:
    """The annotator's row of the quality report and their reviewed work."""
    report = quality_report_compute(project=project)
    mine = Annotation.objects.filter(
        assignment__prompt__project=project, assignment__annotator=annotator
    )
    return OwnWork(
        figures=next(
            (row for row in report.annotators if row.annotator == annotator.username),
            None,
        ),
        approved=mine.filter(review=Annotation.Review.APPROVED).count(),
        rejected=list(
            mine.filter(review=Annotation.Review.REJECTED)
            .select_related("assignment__prompt")
            .order_by("-reviewed_at")
        ),
        gold_checks=(
            gold_checks(project=project, annotator=annotator)
            if project.gold_feedback
            else []
        ),
    )


def gold_checks(*, project: Project, annotator: User) -> list[GoldCheck]:
    """The annotator's submitted check tasks, each with its reference: feedback
    that shows, after the fact, which tasks were checks and where they differed."""
    references = gold_references(project=project)
    done = list(
        Assignment.objects.filter(
            prompt__project=project,
            annotator=annotator,
            status=Assignment.Status.SUBMITTED,
            prompt_id__in=references,
            annotation__skipped=False,
        )
        .select_related("prompt")
        .order_by("-completed_at", "-id")
    )
    ranks: dict[int, dict[int, int]] = defaultdict(dict)
    for pk, output, rank in Judgement.objects.filter(
        annotation__assignment__in=[a.pk for a in done]
    ).values_list("annotation__assignment_id", "candidate_id", "rank"):
        ranks[pk][output] = rank
    checks = []
    for assignment in done:
        letters = {
            output: chr(ord("A") + place)
            for place, output in enumerate(assignment.display_order)
        }
        reference = references[assignment.prompt_id]
        score = gold_score(ranks[assignment.pk], reference)
        checks.append(
            GoldCheck(
                assignment=assignment.pk,
                prompt=assignment.prompt,
                completed_at=assignment.completed_at,
                agreed=score.agreed,
                shared=score.shared,
                yours=ranking_in_letters(ranks[assignment.pk], letters),
                reference=ranking_in_letters(reference, letters),
            )
        )
    return checks


def ranking_in_letters(ranks: Ranks, letters: dict[int, str]) -> str:
    """ "A > C = B": best first, ties joined by "=", outputs by the letters shown."""
    by_rank: dict[int, list[str]] = defaultdict(list)
    for output, rank in ranks.items():
        if output in letters:
            by_rank[rank].append(letters[output])
    return " > ".join(" = ".join(sorted(by_rank[rank])) for rank in sorted(by_rank))


def assignment_taus(*, project: Project) -> dict[int, float]:
    """Assignment id → τ of its ranking with the consensus or the gold reference."""
    return task_taus(ranked_tasks(project), gold=gold_references(project=project))


def quality_report_data(*, project: Project, report: QualityReport) -> dict[str, Any]:
    """The report as `quality_report --json` prints it (shape in the README)."""
    return {
        "project": {
            "slug": project.slug,
            "name": project.name,
            **dataclasses.asdict(report.project),
        },
        "annotators": [
            dataclasses.asdict(annotator) for annotator in report.annotators
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


def ranked_tasks(project: Project) -> list[RankedTask]:
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
            assignment=pk,
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
