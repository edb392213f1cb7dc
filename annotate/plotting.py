"""Drawing the web pages' plots as PNG bytes (matplotlib's object API, no pyplot).

One look for every server-drawn plot (the quality page, the round page): a titled
axes with a light grid, "no data yet" when there is nothing to draw.
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.figure import Figure

DPI = 100
NO_DATA = "no data yet"


def titled_figure(title: str, size: tuple[float, float]) -> tuple[Figure, Axes]:
    """A figure of `size` inches with one gridded axes under `title`."""
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    return figure, axes


def empty_png(title: str, size: tuple[float, float]) -> bytes:
    """The plot's frame saying there is nothing to draw yet."""
    figure, axes = titled_figure(title, size)
    axes.set_axis_off()
    axes.text(0.5, 0.5, NO_DATA, ha="center", va="center", color="grey", fontsize=14)
    return png_bytes(figure)


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
