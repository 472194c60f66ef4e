"""Server-rendered SVG charts: the geometry here, the markup in ``templates/_chart.html``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Chart", "Point", "time_series_chart"]


@dataclass(frozen=True, slots=True)
class Point:
    """One data point at its pixel position, with its value and label (for the tooltip)."""

    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A line chart of one or two series over the same buckets."""

    width: int
    height: int
    pad: int
    y_max: float
    series: dict[str, list[Point]]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]

    def polyline(self, name: str) -> str:
        """The ``points`` attribute of a series' polyline."""
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.series[name])


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def time_series_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    width: int = 720,
    height: int = 220,
    pad: int = 36,
    x_label_every: int | None = None,
) -> Chart:
    """Lay out series of equal length (one value per label) on shared axes starting at zero."""
    n = len(labels)
    y_max = _nice_max(max((v for values in series.values() for v in values), default=0.0))
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def x_at(i: int) -> float:
        return pad + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)

    def y_at(v: float) -> float:
        return pad + inner_h * (1 - v / y_max)

    laid = {
        name: [Point(x_at(i), y_at(v), v, labels[i]) for i, v in enumerate(values)] for name, values in series.items()
    }
    every = x_label_every or max(1, n // 6)
    return Chart(
        width=width,
        height=height,
        pad=pad,
        y_max=y_max,
        series=laid,
        y_ticks=[(y_at(y_max * k / 4), f"{y_max * k / 4:g}") for k in range(5)],
        x_labels=[(x_at(i), labels[i]) for i in range(0, n, every)],
    )
