"""PNG plots of a project's annotation quality for the lead's quality page (Agg).

As on the round page (training/round_plots.py): each plot is a Figure of its own,
never pyplot's global state, so concurrent requests cannot draw into each other's
axes, and a plot with nothing to draw says so in the image.

α over time is drawn by submission order, not by calendar week: a project's first
weeks hold a few dozen prompts, and a week with two overlapping prompts gives an α
that means nothing. The prompts two or more annotators ranked are ordered by when
their last ranking came in and cut into consecutive chunks of at least
ALPHA_CHUNK_MIN prompts (at most ALPHA_POINTS chunks), and α is computed over each
chunk's prompts, every value of a prompt inside one chunk.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from annotate.models import Assignment, Project
from annotate.plotting import empty_png, png_bytes, titled_figure
from annotate.quality.report import (
    AnnotatorPair,
    AnnotatorQuality,
    RankedTask,
    quality_report,
)
from annotate.quality.selectors import (
    TRUST_BANDS,
    quality_report_compute,
    ranked_tasks,
)

ALPHA_CHUNK_MIN = 5  # prompts; fewer give an α that swings with one rating
ALPHA_POINTS = 8  # chunks at most: enough to see a trend, each still sizeable
HEATMAP_LABELS_MAX = 12  # annotators; above it the cells are too small for numbers
LOW_TRUST = TRUST_BANDS["medium"][1]  # below it, the review queue's "low" band
TRUST_COLOUR, LOW_COLOUR, GOLD_COLOUR = "tab:blue", "tab:red", "tab:olive"


@dataclass(frozen=True)
class AlphaPoint:
    """Krippendorff's α (Likert, ordinal) of one chunk of prompts."""

    first: int  # the chunk's prompts are the first..last overlapping ones, 1-based
    last: int
    alpha: float | None
    pairable: int
    until: datetime | None  # when the chunk's last ranking came in


def alpha_trend(
    tasks: Sequence[RankedTask], completed: Mapping[int, datetime | None]
) -> list[AlphaPoint]:
    """α of the Likert ratings per chunk of overlapping prompts, oldest first.

    `completed` maps each task's assignment id to when it was submitted.
    """
    by_prompt: dict[int, list[RankedTask]] = defaultdict(list)
    for task in tasks:
        by_prompt[task.prompt].append(task)
    finished = {
        prompt: _last_time([completed.get(task.assignment) for task in judged])
        for prompt, judged in by_prompt.items()
        if len(judged) >= 2
    }
    order = sorted(finished, key=lambda prompt: (_time_key(finished[prompt]), prompt))
    points = []
    for first, last in _chunks(len(order)):
        prompts = order[first:last]
        chunk = [task for prompt in prompts for task in by_prompt[prompt]]
        alpha = quality_report(chunk, flag_keys=(), skipped={}).project
        points.append(
            AlphaPoint(
                first=first + 1,
                last=last,
                alpha=alpha.alpha_likert,
                pairable=alpha.alpha_likert_pairable,
                until=_last_time([finished[prompt] for prompt in prompts]),
            )
        )
    return points


def _last_time(times: Sequence[datetime | None]) -> datetime | None:
    known = [time for time in times if time is not None]
    return max(known) if known else None


def _time_key(time: datetime | None) -> float:
    """Unknown times sort last."""
    return time.timestamp() if time is not None else math.inf


def _chunks(n: int) -> list[tuple[int, int]]:
    """(start, stop) of consecutive chunks of n items; a short rest joins the last."""
    size = max(ALPHA_CHUNK_MIN, math.ceil(n / ALPHA_POINTS))
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] < ALPHA_CHUNK_MIN:
        starts.pop()
    stops = [*starts[1:], n] if starts else []
    return list(zip(starts, stops, strict=True))


def trust_png(annotators: Sequence[AnnotatorQuality]) -> bytes:
    """Trust (with its sample size) per annotator, most trusted on top, trust in the
    review queue's low band in red; gold accuracy beside it where there is any."""
    title = "Trust and gold accuracy per annotator"
    rows = sorted(annotators, key=lambda a: (a.trust is None, -(a.trust or 0)))
    if not rows:
        return empty_png(title, (6.4, 2.4))
    has_gold = any(row.gold_accuracy is not None for row in rows)
    figure, axes = titled_figure(
        title, (6.4, 1.4 + (0.5 if has_gold else 0.35) * len(rows))
    )
    y = np.arange(len(rows))[::-1]  # first row on top, (A,)
    shift, height = (0.2, 0.4) if has_gold else (0.0, 0.6)
    low = [row.trust is not None and row.trust < LOW_TRUST for row in rows]
    axes.barh(
        y + shift,
        [row.trust or 0.0 for row in rows],
        height=height,
        color=[LOW_COLOUR if is_low else TRUST_COLOUR for is_low in low],
    )
    _bar_labels(
        axes,
        y + shift,
        [row.trust for row in rows],
        [f"(n={row.trust_n})" for row in rows],
    )
    legend = [
        Patch(color=TRUST_COLOUR, label="trust"),
        Patch(color=LOW_COLOUR, label=f"trust below {LOW_TRUST} (low)"),
    ]
    if has_gold:
        gold = [row.gold_accuracy for row in rows]
        axes.barh(y - shift, [g or 0.0 for g in gold], height=height, color=GOLD_COLOUR)
        _bar_labels(axes, y - shift, gold, [f"({r.gold_tasks} gold)" for r in rows])
        axes.axvline(0.5, color="grey", linestyle=":", linewidth=1)  # gold by chance
        legend.append(Patch(color=GOLD_COLOUR, label="gold accuracy (0.5: chance)"))
    axes.set_yticks(y, [row.annotator for row in rows])
    axes.set(xlim=(0, 1.3), xlabel="trust: 0 is chance, 1 always the consensus order")
    axes.grid(axis="y", visible=False)
    figure.legend(
        handles=legend, fontsize="small", loc="outside lower center", ncols=len(legend)
    )
    return png_bytes(figure)


def _bar_labels(
    axes: Axes, y: np.ndarray, values: Sequence[float | None], notes: Sequence[str]
) -> None:
    """Each bar's value and note at its end ("no figure yet" for a missing value)."""
    for yi, value, note in zip(y, values, notes, strict=True):
        text = "no figure yet" if value is None else f"{value:.2f}"
        axes.annotate(
            f"{text} {note}",
            (value or 0.0, yi),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )


def agreement_png(names: Sequence[str], pairs: Sequence[AnnotatorPair]) -> bytes:
    """Pairwise agreement between annotators on the output pairs both ranked."""
    title = "Agreement between annotators (shared output pairs)"
    if not pairs:
        return empty_png(title, (6.4, 2.4))
    index = {name: i for i, name in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)  # (A, A)
    for pair in pairs:
        i, j = (index[name] for name in pair.annotators)
        if pair.agreement is not None:
            matrix[i, j] = matrix[j, i] = pair.agreement
    side = 2.4 + 0.5 * len(names)
    figure, axes = titled_figure(title, (side + 1.2, side))
    cmap = colormaps["RdYlGn"].with_extremes(bad="#eeeeee")  # grey: no shared pair
    image = axes.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, shrink=0.8, label="share related the same way")
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.grid(visible=False)
    if len(names) <= HEATMAP_LABELS_MAX:
        for (i, j), value in np.ndenumerate(matrix):
            if not np.isnan(value):
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", size=8)
    return png_bytes(figure)


def alpha_trend_png(points: Sequence[AlphaPoint], *, overall: float | None) -> bytes:
    """α of the Likert ratings per chunk of prompts, in submission order."""
    title = "Krippendorff's α (Likert) by submission order"
    drawn = [(point, point.alpha) for point in points if point.alpha is not None]
    if not drawn:
        return empty_png(title, (6.4, 2.4))
    figure, axes = titled_figure(title, (6.4, 3.4))
    x = [point.last for point, _ in drawn]
    alphas = [alpha for _, alpha in drawn]
    axes.plot(x, alphas, marker="o", label="each chunk")
    for (point, alpha), xi in zip(drawn, x, strict=True):
        axes.annotate(
            f"{point.pairable}",
            (xi, alpha),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize="x-small",
            color="grey",
        )
    if overall is not None:
        axes.axhline(overall, color="grey", linestyle=":", label="all prompts")
    axes.axhline(0.0, color="black", linewidth=0.6)
    labels = [f"{point.first}–{point.last}" for point, _ in drawn]
    axes.set_xticks(x, labels, rotation=30 if len(drawn) > 5 else 0)
    axes.set(
        xlabel="prompts ranked by 2+ annotators, by when the last ranking came in",
        ylabel="α (labels: pairable ratings)",
        ylim=(min(-0.1, *alphas) - 0.05, 1.05),
    )
    axes.legend(fontsize="small", loc="lower right")
    return png_bytes(figure)


def _trust(project: Project) -> bytes:
    return trust_png(quality_report_compute(project=project).annotators)


def _agreement(project: Project) -> bytes:
    report = quality_report_compute(project=project)
    names = sorted({name for pair in report.pairs for name in pair.annotators})
    return agreement_png(names, report.pairs)


def _alpha(project: Project) -> bytes:
    tasks = ranked_tasks(project)
    completed = dict(
        Assignment.objects.filter(prompt__project=project).values_list(
            "id", "completed_at"
        )
    )
    overall = quality_report(tasks, flag_keys=(), skipped={}).project.alpha_likert
    return alpha_trend_png(alpha_trend(tasks, completed), overall=overall)


PLOTS: dict[str, Callable[[Project], bytes]] = {
    "trust": _trust,
    "agreement": _agreement,
    "alpha": _alpha,
}


def quality_plot_png(*, project: Project, name: str) -> bytes:
    """The named plot (a key of PLOTS) of the project's quality."""
    return PLOTS[name](project)
