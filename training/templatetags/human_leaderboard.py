"""`{% human_leaderboard project %}`: the project's human leaderboard as a page section.

A template tag, so that annotate's quality page can show it without annotate's Python
importing training (training builds on annotate, not the other way round).
"""

from __future__ import annotations

from typing import Any

from django import template

from annotate.models import Project
from training.leaderboard import leaderboard_compute

register = template.Library()


@register.inclusion_tag("training/human_leaderboard.html")
def human_leaderboard(project: Project, marked: Any = ()) -> dict[str, Any]:
    """`marked`: model versions whose rows are highlighted (the compare view's two)."""
    board = leaderboard_compute(project=project)
    marked_ids = {version.pk for version in marked}
    return {
        "board": board,
        # Each row with its row of the win-rate matrix: (rate, games).
        "rows": [
            (
                row,
                row.model_version in marked_ids,
                list(zip(rates, counts, strict=True)),
            )
            for row, rates, counts in zip(
                board.rows, board.win_rates, board.counts, strict=True
            )
        ],
    }
