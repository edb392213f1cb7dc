from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.exporting import (
    AGGREGATE_HELP,
    MARGIN_HELP,
    MIN_TRUST_HELP,
    TIES_HELP,
    WEIGHT_HELP,
    ExportError,
    ExportFormat,
    ExportOptions,
    MarginSource,
    SourceFilter,
    Style,
    TiePolicy,
    export_to_path,
)
from annotate.models import Project
from annotate.quality.selection import Aggregate, Weighting


class Command(BaseCommand):
    help = (
        "Export a project's judgements as pairs, unpaired, rankings, ratings or raw "
        "records to a .jsonl or .parquet file, or a datasets folder (no extension), "
        "with a dataset card beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", required=True, choices=ExportFormat.values)
        parser.add_argument(
            "--out", required=True, type=Path, help=".jsonl, .parquet or a folder"
        )
        parser.add_argument("--style", choices=Style.values, default=Style.STANDARD)
        parser.add_argument(
            "--source", choices=SourceFilter.values, default=SourceFilter.ALL
        )
        parser.add_argument(
            "--annotator",
            dest="annotators",
            action="append",
            default=[],
            help="only this annotator's judgements (username; repeat for several)",
        )
        parser.add_argument(
            "--round",
            dest="rounds",
            action="append",
            type=int,
            default=[],
            help="only annotations of outputs generated in this round (repeatable)",
        )
        parser.add_argument(
            "--min-agreement",
            type=float,
            default=0.0,
            help="0-1; share of a prompt's judges that agree (see the dataset card)",
        )
        parser.add_argument(
            "--ties",
            choices=TiePolicy.values,
            default=TiePolicy.DROP,
            help=TIES_HELP,
        )
        parser.add_argument(
            "--margin",
            choices=MarginSource.values,
            default=MarginSource.NONE,
            help=MARGIN_HELP,
        )
        parser.add_argument(
            "--exclude-flagged-chosen",
            action="store_true",
            help="never export a flagged output as the chosen one of a pair",
        )
        parser.add_argument(
            "--include-rejected",
            action="store_true",
            help="also export annotations a lead rejected in review (left out by "
            "default)",
        )
        parser.add_argument(
            "--min-trust", type=float, default=None, help=MIN_TRUST_HELP
        )
        parser.add_argument(
            "--weighting",
            choices=[str(w) for w in Weighting],
            default=Weighting.NONE.value,
            help=WEIGHT_HELP,
        )
        parser.add_argument(
            "--aggregate",
            choices=[str(a) for a in Aggregate],
            default=Aggregate.NONE.value,
            help=AGGREGATE_HELP,
        )
        parser.add_argument("--desirable-min-likert", type=int, default=5)
        parser.add_argument("--undesirable-max-likert", type=int, default=3)
        parser.add_argument(
            "--test-fraction",
            type=float,
            default=0.1,
            help="datasets folders: share of prompts in the test split",
        )
        parser.add_argument("--seed", type=int, default=0, help="test split seed")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"--project: no project with slug {opts['project']!r}")
        try:
            report = export_to_path(
                project=project,
                options=ExportOptions.from_values(
                    {**opts, "exclude_rejected": not opts["include_rejected"]}
                ),
                out=opts["out"],
            )
        except ExportError as error:
            raise CommandError(str(error)) from error
        rows = ", ".join(
            f"{n} {split}" for split, n in sorted(report.stats.rows.items())
        )
        self.stdout.write(
            f"Wrote {report.path} ({report.file_type}: {rows or 'no'} rows) "
            f"and its card {report.card_path}."
        )
