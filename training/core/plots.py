"""Loss-curve PNGs written with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless workers have no display

import matplotlib.pyplot as plt  # noqa: E402

SMOOTHING_WINDOW = 20  # steps averaged in the smoothed line; short runs stay readable


def plot_loss_curve(
    history: Sequence[dict[str, float]], path: Path, *, title: str = "training loss"
) -> Path:
    """Plot loss per step (raw and moving average) to `path`; returns the path."""
    steps = [row["step"] for row in history]
    losses = [row["loss"] for row in history]
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=100)
    axes.plot(steps, losses, alpha=0.35, label="loss")
    if len(losses) >= 2:
        axes.plot(steps, _moving_average(losses), label="moving average")
    axes.set(xlabel="step", ylabel="loss", title=title)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _moving_average(values: Sequence[float]) -> list[float]:
    """Trailing mean over up to SMOOTHING_WINDOW values."""
    out = []
    for i in range(len(values)):
        window = values[max(0, i + 1 - SMOOTHING_WINDOW) : i + 1]
        out.append(sum(window) / len(window))
    return out
