"""`manage.py quality_report --project SLUG [--json]`: do the annotators agree?

Prints a table per annotator (trust, consensus τ, agreement, position bias, time) under
the project's agreement and Krippendorff's α; --json prints the figures as the README
documents them. What each figure means: annotate.quality.report.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Project
from annotate.quality.report import (
    POSITION_BIAS_Z,
    TOO_FAST_SHARE,
    AnnotatorQuality,
    QualityReport,
)
from annotate.quality.selectors import quality_report_compute, quality_report_data

COLUMNS = (
    f"{'annotator':<20} {'n':>4} {'skip':>4} {'trust':>5} {'(n)':>5} {'τ':>6} "
    f"{'agree':>6} {'(pairs)':>7} {'position bias':>17} {'med s':>7} {'fast':>4}"
)


class Command(BaseCommand):
    help = (
        "Annotation quality of a project: agreement, Krippendorff's α, and per "
        "annotator trust, consensus τ, position bias and time per task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--json", action="store_true", help="print JSON instead of a table"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"--project: no project with slug {opts['project']!r}")
        report = quality_report_compute(project=project)
        if opts["json"]:
            data = quality_report_data(project=project, report=report)
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        self.stdout.write("\n".join(_table(project, report)))


def _table(project: Project, report: QualityReport) -> list[str]:
    figures = report.project
    lines = [
        f"{project.name} ({project.slug}): {figures.rankings} rankings by "
        f"{figures.annotators} annotators on {figures.prompts} prompts, "
        f"{figures.prompts_overlapping} of them ranked by two or more.",
        f"Agreement {_number(figures.agreement)} over {figures.agreement_n} shared "
        f"pairs; Krippendorff's α: Likert (ordinal) {_number(figures.alpha_likert)} "
        f"from {figures.alpha_likert_pairable} values, flags (nominal) "
        f"{_number(figures.alpha_flags)} from {figures.alpha_flags_pairable}.",
        f"Median {_number(figures.median_seconds, '.1f')} s per task; "
        f"{figures.too_fast} tasks too fast (under {TOO_FAST_SHARE:.0%} of the "
        "median time per output).",
        "",
        COLUMNS,
    ]
    lines += [_row(annotator) for annotator in report.annotators]
    lines += [
        "",
        "trust: consensus τ shrunk towards 0 over few shared prompts, (n) prompts; "
        "τ: Kendall τ-b with the others' consensus;",
        "position bias: τ of display position against rank (> 0: first shown wins), "
        f"z in brackets, * when |z| ≥ {POSITION_BIAS_Z:g}.",
    ]
    return lines


def _row(a: AnnotatorQuality) -> str:
    bias = f"{_number(a.position_bias, '+.2f')} ({_number(a.position_bias_z, '+.1f')})"
    return (
        f"{a.annotator[:20]:<20} {a.n:>4} {a.skipped:>4} {_number(a.trust):>5} "
        f"{a.trust_n:>5} {_number(a.consensus_tau, '+.2f'):>6} "
        f"{_number(a.agreement):>6} {a.agreement_n:>7} "
        f"{bias + ('*' if a.position_biased else ' '):>17} "
        f"{_number(a.median_seconds, '.1f'):>7} {a.too_fast:>4}"
    )


def _number(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)
