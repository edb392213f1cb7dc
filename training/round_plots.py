"""PNG plots of a round for the admin's live page, drawn with matplotlib's Agg.

The curves over rounds come from one evaluation: the round's judge scoring every
policy of its lineage on the project's evaluation set, so points are comparable; the
model-version compare page draws the same curves from the latest such evaluation.
Each figure is a `matplotlib.figure.Figure` of its own (never pyplot's global state),
so concurrent requests in one web process cannot draw into each other's axes. A plot
with nothing to draw yet says so in the image instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from annotate.plotting import empty_png, png_bytes, titled_figure
from training import selectors
from training.models import ModelVersion, Round
from training.selectors import Series

SIZE = (5.6, 3.4)  # inches; two plots side by side fit the admin's content width


def loss_curves_png(series: list[Series]) -> bytes:
    """Training loss per step, one line per training run."""
    if not series:
        return empty_png("Training loss", SIZE)
    figure, axes = titled_figure("Training loss", SIZE)
    for line in series:
        axes.plot(line.x, line.y, label=line.label)
    axes.set(xlabel="step", ylabel="loss")
    _integer_x(axes, [x for line in series for x in line.x])
    axes.legend(fontsize="small")
    return png_bytes(figure)


def reward_accuracy_png(series: list[Series], *, current: int) -> bytes:
    """Reward-model held-out accuracy per round, this round's point ringed."""
    if not series:
        return empty_png("Reward model: held-out accuracy", SIZE)
    figure, axes = titled_figure("Reward model: held-out accuracy", SIZE)
    line = series[0]
    axes.plot(line.x, line.y, marker="o", label=line.label)
    _ring(axes, line, {f"R{current}"})
    axes.set(xlabel="round", ylabel="accuracy", ylim=(-0.05, 1.05))
    _integer_x(axes, line.x)
    return png_bytes(figure)


def lineage_png(
    series: list[Series],
    *,
    title: str,
    ylabel: str,
    ringed: set[str],
    ylim: tuple[float, float] | None = None,
    even: float | None = None,
) -> bytes:
    """A metric of each policy of the lineage over rounds (x: the round that made it).

    `ringed` names the points the page is about; `even` draws the no-change level.
    """
    if not series:
        return empty_png(title, SIZE)
    figure, axes = titled_figure(title, SIZE)
    if even is not None:
        axes.axhline(even, color="grey", linestyle=":", linewidth=1)
    for line in series:
        axes.plot(line.x, line.y, marker="o", label=SERIES_LABELS[line.label])
        _ring(axes, line, ringed)
        for x, y, label in zip(line.x, line.y, line.labels, strict=True):
            if " " in label:  # best-of-N sampling, not a policy's weights
                axes.annotate(
                    label.split(" ", 1)[1],
                    (x, y),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize="small",
                )
    axes.set(xlabel="round that produced the policy (0: base)", ylabel=ylabel)
    if ylim is not None:
        axes.set_ylim(*ylim)
    _integer_x(axes, [x for line in series for x in line.x])
    axes.legend(fontsize="small")
    return png_bytes(figure)


def reward_vs_kl_png(
    lineage: Series | None, steps: list[Series], *, ringed: set[str]
) -> bytes:
    """Judge score vs KL to the base per policy, and the RL steps of this round."""
    title = "Judge score vs KL to the base"
    if lineage is None and not steps:
        return empty_png(title, SIZE)
    figure, axes = titled_figure(title, SIZE)
    for line in steps:
        axes.plot(line.x, line.y, marker=".", alpha=0.6, label=line.label)
    if lineage is not None:
        axes.scatter(lineage.x, lineage.y, s=40, zorder=3, label="policies")
        for kl, score, label in zip(lineage.x, lineage.y, lineage.labels, strict=True):
            axes.annotate(label, (kl, score), textcoords="offset points", xytext=(4, 4))
        _ring(axes, lineage, ringed)
    axes.set(xlabel="KL (nats per sample)", ylabel="judge score / training reward")
    axes.legend(fontsize="small")
    return png_bytes(figure)


def reward_vs_length_png(points: Series | None, *, correlation: float | None) -> bytes:
    """Judge score vs output length of the new policy's samples (length hacking)."""
    title = "Judge score vs output length"
    if correlation is not None:
        title += f" (Pearson r = {correlation:.2f})"
    if points is None:
        return empty_png(title, SIZE)
    figure, axes = titled_figure(title, SIZE)
    axes.scatter(points.x, points.y, s=16, alpha=0.7)
    axes.set(xlabel="output length (tokens)", ylabel="judge score")
    return png_bytes(figure)


def round_plot_png(round_: Round, name: str) -> bytes:
    """The named plot of a round (a name of PLOTS)."""
    return PLOTS[name](round_)


def compare_plot_png(
    round_: Round | None, name: str, versions: list[ModelVersion]
) -> bytes:
    """A LINEAGE_PLOTS plot of the round that judged both versions, them ringed."""
    evaluation = round_.evaluation if round_ is not None else {}
    ringed = selectors.version_point_labels(evaluation=evaluation, versions=versions)
    return LINEAGE_PLOTS[name](evaluation, ringed)


def _judge_score(evaluation: dict[str, Any], ringed: set[str]) -> bytes:
    return lineage_png(
        selectors.lineage_series(evaluation=evaluation, keys=("judge_score",)),
        title=f"Judge score{_by_judge(evaluation)}",
        ylabel="mean judge score",
        ringed=ringed,
    )


def _win_rate(evaluation: dict[str, Any], ringed: set[str]) -> bytes:
    keys = ("win_rate_vs_base", "win_rate_vs_parent")
    return lineage_png(
        selectors.lineage_series(evaluation=evaluation, keys=keys),
        title=f"Win rate{_by_judge(evaluation)}",
        ylabel="share of samples judged better",
        ringed=ringed,
        ylim=(-0.05, 1.05),
        even=0.5,
    )


def _kl(evaluation: dict[str, Any], ringed: set[str]) -> bytes:
    keys = ("kl_to_base", "kl_to_parent")
    return lineage_png(
        selectors.lineage_series(evaluation=evaluation, keys=keys),
        title="KL divergence of each policy",
        ylabel="KL (nats per sample)",
        ringed=ringed,
        even=0.0,
    )


def _distinct(evaluation: dict[str, Any], ringed: set[str]) -> bytes:
    keys = ("distinct_1", "distinct_2")
    return lineage_png(
        selectors.lineage_series(evaluation=evaluation, keys=keys),
        title="Output diversity of each policy",
        ylabel="distinct n-grams / all n-grams",
        ringed=ringed,
        ylim=(-0.05, 1.05),
    )


def _by_judge(evaluation: dict[str, Any]) -> str:
    judge = (evaluation.get("judge") or {}).get("name")
    return f" (judge: {judge})" if judge else ""


LINEAGE_PLOTS: dict[str, Callable[[dict[str, Any], set[str]], bytes]] = {
    "judge_score": _judge_score,
    "win_rate": _win_rate,
    "kl": _kl,
}


def _of_new_policy(
    plot: Callable[[dict[str, Any], set[str]], bytes],
) -> Callable[[Round], bytes]:
    """A lineage plot of a round's evaluation with its new policy ringed."""

    def draw(round_: Round) -> bytes:
        row = selectors.new_policy_row(round_=round_)
        ringed = {selectors.point_label(row)} if row else set()
        return plot(round_.evaluation, ringed)

    return draw


def _loss(round_: Round) -> bytes:
    return loss_curves_png(selectors.loss_series(round_=round_))


def _reward_accuracy(round_: Round) -> bytes:
    series = selectors.reward_accuracy_series(project=round_.project)
    return reward_accuracy_png(series, current=round_.number)


def _reward_kl(round_: Round) -> bytes:
    keys = ("kl_to_base", "judge_score")
    evaluation = selectors.lineage_series(evaluation=round_.evaluation, keys=keys)
    lineage = None
    if len(evaluation) == 2 and evaluation[0].labels == evaluation[1].labels:
        kl, score = evaluation
        lineage = Series("policies", kl.y, score.y, kl.labels)
    row = selectors.new_policy_row(round_=round_)
    ringed = {selectors.point_label(row)} if row else set()
    steps = selectors.rl_reward_kl_series(round_=round_)
    return reward_vs_kl_png(lineage, steps, ringed=ringed)


def _reward_length(round_: Round) -> bytes:
    correlation = selectors.new_policy_row(round_=round_).get(
        "reward_length_correlation"
    )
    return reward_vs_length_png(
        selectors.reward_length_points(round_=round_),
        correlation=correlation if isinstance(correlation, float) else None,
    )


PLOTS: dict[str, Callable[[Round], bytes]] = {
    **{name: _of_new_policy(plot) for name, plot in LINEAGE_PLOTS.items()},
    "reward_kl": _reward_kl,
    "reward_length": _reward_length,
    "distinct": _of_new_policy(_distinct),
    "reward_accuracy": _reward_accuracy,
    "loss": _loss,
}
SERIES_LABELS = {
    "judge_score": "judge score",
    "win_rate_vs_base": "vs the base",
    "win_rate_vs_parent": "vs its parent",
    "kl_to_base": "to the base",
    "kl_to_parent": "to its parent",
    "distinct_1": "distinct-1",
    "distinct_2": "distinct-2",
}


# --- drawing ------------------------------------------------------------------------


def _ring(axes: Axes, series: Series, ringed: set[str]) -> None:
    """Circle the points the page is about (by label, R<round> by default)."""
    labels = series.labels or [f"R{x:g}" for x in series.x]
    for x, y, label in zip(series.x, series.y, labels, strict=True):
        if label in ringed:
            axes.scatter([x], [y], s=160, facecolors="none", edgecolors="crimson")


def _integer_x(axes: Axes, values: list[float]) -> None:
    """Whole-number ticks (steps, rounds); one value gets a unit of room each side."""
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(set(values)) == 1:
        axes.set_xlim(values[0] - 1, values[0] + 1)
