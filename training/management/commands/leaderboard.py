"""`manage.py leaderboard --project SLUG [--json]`: the models, ranked by people.

A Bradley–Terry fit over the model versions (and named sources) whose outputs people
ranked against each other, with bootstrap intervals by prompt, the win-rate matrix
and the counts behind it (training.leaderboard).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.models import Project
from annotate.quality.bradley_terry import DEFAULT_SAMPLES
from training.leaderboard import Leaderboard, leaderboard_compute, leaderboard_data


class Command(BaseCommand):
    help = (
        "Bradley–Terry leaderboard of a project's model versions from human "
        "rankings, with bootstrap intervals by prompt and the win-rate matrix."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--samples",
            type=int,
            default=DEFAULT_SAMPLES,
            help="bootstrap refits behind each interval",
        )
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
        parser.add_argument(
            "--json", action="store_true", help="print JSON instead of a table"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"--project: no project with slug {opts['project']!r}")
        if opts["samples"] < 1:
            raise CommandError(f"--samples: expected 1 or more, got {opts['samples']}")
        board = leaderboard_compute(
            project=project, samples=opts["samples"], seed=opts["seed"]
        )
        if opts["json"]:
            data = leaderboard_data(project=project, board=board)
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        elif not board.rows:
            self.stdout.write(
                f"{project.slug}: no head-to-head comparisons yet. The leaderboard "
                "needs rankings of prompts whose outputs come from two or more "
                "models (model versions or sources)."
            )
        else:
            self.stdout.write("\n".join(_table(project, board)))


def _table(project: Project, board: Leaderboard) -> list[str]:
    interval = f"{board.level:.0%} interval"
    lines = [
        f"{project.name} ({project.slug}): {board.comparisons} head-to-head pairs "
        f"from {board.prompts} prompts; intervals from {board.samples} bootstrap "
        "samples of prompts.",
        "",
        f"{'#':>2} {'model':<32} {'score':>6} {interval:>17} {'games':>6} "
        f"{'wins':>7} {'prompts':>7}",
    ]
    lines += [
        f"{row.rank:>2} {row.model[:32]:<32} {row.score:>+6.2f} "
        f"{f'[{row.low:+.2f}, {row.high:+.2f}]':>17} {row.comparisons:>6} "
        f"{row.wins:>7.1f} {row.prompts:>7}"
        for row in board.rows
    ]
    lines += ["", "Win rate of row over column (games):"]
    header = " ".join(f"{row.rank:>12}" for row in board.rows)
    lines.append(f"{'':>2} {'':<32} {header}")
    for row, rates, counts in zip(
        board.rows, board.win_rates, board.counts, strict=True
    ):
        cells = " ".join(
            f"{'—' if rate is None else f'{rate:.2f} ({n})':>12}"
            for rate, n in zip(rates, counts, strict=True)
        )
        lines.append(f"{row.rank:>2} {row.model[:32]:<32} {cells}")
    lines += [
        "",
        "score: Bradley–Terry log-strength, mean 0; "
        "P(a beats b) = 1 / (1 + exp(score_b − score_a)).",
    ]
    return lines
