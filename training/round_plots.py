"""PNG plots of a round for the admin's live page, drawn with matplotlib's Agg.

Each figure is a `matplotlib.figure.Figure` of its own (never pyplot's global state),
so concurrent requests in one web process cannot draw into each other's axes. A plot
with nothing to draw yet says so in the image instead of failing.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from training import selectors
from training.models import Round
from training.selectors import Series

SIZE = (5.6, 3.4)  # inches; two plots side by side fit the admin's content width
DPI = 100
NO_DATA = "no data yet"


def loss_curves_png(series: list[Series]) -> bytes:
    """Training loss per step, one line per training run."""
    return _lines_png(series, title="Training loss", xlabel="step", ylabel="loss")


def reward_accuracy_png(series: list[Series], *, current: int) -> bytes:
    """Reward-model held-out accuracy per round, this round's point ringed."""
    if not series:
        return _empty_png("Reward model: held-out accuracy")
    figure, axes = _figure("Reward model: held-out accuracy")
    line = series[0]
    axes.plot(line.x, line.y, marker="o", label=line.label)
    _ring(axes, line, current)
    axes.set(xlabel="round", ylabel="accuracy", ylim=(-0.05, 1.05))
    _integer_x(axes, line.x)
    return _png(figure)


def reward_vs_kl_png(
    rounds: Series | None, steps: list[Series], *, current: int
) -> bytes:
    """Evaluation reward vs KL to the reference per round, and RL steps of this one."""
    title = "Policy reward vs KL to the reference"
    if rounds is None and not steps:
        return _empty_png(title)
    figure, axes = _figure(title)
    for line in steps:
        axes.plot(line.x, line.y, marker=".", alpha=0.6, label=line.label)
    if rounds is not None:
        axes.scatter(rounds.x, rounds.y, s=40, zorder=3, label="evaluation per round")
        for kl, reward, number in zip(rounds.x, rounds.y, rounds.labels, strict=True):
            axes.annotate(
                number, (kl, reward), textcoords="offset points", xytext=(4, 4)
            )
        _ring(axes, rounds, current)
    axes.set(xlabel="KL to reference", ylabel="mean reward")
    axes.legend(fontsize="small")
    return _png(figure)


def reward_vs_length_png(points: Series | None, *, correlation: float | None) -> bytes:
    """Reward vs output length of this round's evaluation samples (length hacking)."""
    title = "Reward vs output length"
    if correlation is not None:
        title += f" (Pearson r = {correlation:.2f})"
    if points is None:
        return _empty_png(title)
    figure, axes = _figure(title)
    axes.scatter(points.x, points.y, s=16, alpha=0.7)
    axes.set(xlabel="output length (tokens)", ylabel="reward")
    return _png(figure)


def distinct_n_png(series: list[Series]) -> bytes:
    """distinct-1 and distinct-2 of each round's samples (mode collapse)."""
    return _lines_png(
        series,
        title="Output diversity per round",
        xlabel="round",
        ylabel="distinct n-grams / all n-grams",
        marker="o",
        ylim=(-0.05, 1.05),
    )


def round_plot_png(round_: Round, name: str) -> bytes:
    """The named plot of a round (a name of PLOTS)."""
    return PLOTS[name](round_)


def _loss(round_: Round) -> bytes:
    return loss_curves_png(selectors.loss_series(round_=round_))


def _reward_accuracy(round_: Round) -> bytes:
    series = selectors.reward_accuracy_series(project=round_.project)
    return reward_accuracy_png(series, current=round_.number)


def _reward_kl(round_: Round) -> bytes:
    evaluations = selectors.evaluation_series(
        project=round_.project, keys=("kl", "mean_reward")
    )
    rounds = None
    if len(evaluations) == 2 and evaluations[0].x == evaluations[1].x:
        kl, reward = evaluations
        rounds = Series("rounds", kl.y, reward.y, [f"R{n:g}" for n in kl.x])
    steps = selectors.rl_reward_kl_series(round_=round_)
    return reward_vs_kl_png(rounds, steps, current=round_.number)


def _reward_length(round_: Round) -> bytes:
    correlation = round_.evaluation.get("reward_length_correlation")
    return reward_vs_length_png(
        selectors.reward_length_points(round_=round_),
        correlation=correlation if isinstance(correlation, float) else None,
    )


def _distinct(round_: Round) -> bytes:
    keys = ("distinct_1", "distinct_2")
    series = selectors.evaluation_series(project=round_.project, keys=keys)
    named = [dataclasses.replace(s, label=s.label.replace("_", "-")) for s in series]
    return distinct_n_png(named)


PLOTS: dict[str, Callable[[Round], bytes]] = {
    "loss": _loss,
    "reward_accuracy": _reward_accuracy,
    "reward_kl": _reward_kl,
    "reward_length": _reward_length,
    "distinct": _distinct,
}


# --- drawing ------------------------------------------------------------------------


def _figure(title: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    return figure, axes


def _lines_png(
    series: list[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    marker: str = "",
    ylim: tuple[float, float] | None = None,
) -> bytes:
    if not series:
        return _empty_png(title)
    figure, axes = _figure(title)
    for line in series:
        axes.plot(line.x, line.y, marker=marker or None, label=line.label)
    axes.set(xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        axes.set_ylim(*ylim)
    _integer_x(axes, [x for line in series for x in line.x])
    axes.legend(fontsize="small")
    return _png(figure)


def _empty_png(title: str) -> bytes:
    figure, axes = _figure(title)
    axes.set_axis_off()
    axes.text(0.5, 0.5, NO_DATA, ha="center", va="center", color="grey", fontsize=14)
    return _png(figure)


def _ring(axes: Axes, series: Series, current: int) -> None:
    """Circle the point of the round the page is about."""
    numbers = series.labels or [f"R{x:g}" for x in series.x]
    for x, y, label in zip(series.x, series.y, numbers, strict=True):
        if label == f"R{current}":
            axes.scatter([x], [y], s=160, facecolors="none", edgecolors="crimson")


def _integer_x(axes: Axes, values: list[float]) -> None:
    """Whole-number ticks (steps, rounds); one value gets a unit of room each side."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(set(values)) == 1:
        axes.set_xlim(values[0] - 1, values[0] + 1)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
