"""A stacked bar chart as plain geometry, drawn as inline SVG by the overview template.

Server-side so the page needs no JavaScript; hovering a bar segment shows its count through
the SVG ``<title>``, and a table beside the chart carries the same numbers for screen readers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OTHER_COLOR = "#999999"
TOP = 7


@dataclass
class Segment:
    key: str
    count: int
    y: float
    height: float
    color: str


@dataclass
class Bar:
    bucket: date
    x: float
    width: float
    total: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    plot_top: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    legend: list[tuple[str, str, int]]  # key, colour, total
    ticks: list[tuple[float, int]]  # y, value
    labels: list[tuple[float, str]]  # x, text
    maximum: int


def _nice_max(value: int) -> int:
    """A round top for the y axis (1, 2, 5 × a power of ten)."""
    if value <= 5:
        return max(value, 1)
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def stacked_bars(buckets: list[date], series: dict[str, Counter[date]], *, weekly: bool,
                 width: int = 860, height: int = 260) -> Chart:
    """Bars per bucket, stacked by series; series beyond the top few are merged into "Other"."""
    ranked = sorted(series, key=lambda k: (-sum(series[k].values()), k))
    shown = ranked[:TOP] if len(ranked) <= TOP else ranked[: TOP - 1]
    rest = [k for k in ranked if k not in shown]
    stacks: list[tuple[str, str, Counter[date]]] = [
        (key, PALETTE[i % len(PALETTE)], series[key]) for i, key in enumerate(shown)
    ]
    if rest:
        other: Counter[date] = Counter()
        for key in rest:
            other.update(series[key])
        stacks.append((f"Other ({len(rest)})", OTHER_COLOR, other))

    left, top, bottom = 44, 10, height - 28
    plot_height = bottom - top
    totals = [sum(counts.get(b, 0) for _, _, counts in stacks) for b in buckets]
    maximum = _nice_max(max(totals, default=0))
    slot = (width - left - 4) / max(1, len(buckets))
    bar_width = max(2.0, slot * 0.72)

    bars = []
    for index, (bucket, total) in enumerate(zip(buckets, totals, strict=True)):
        bar = Bar(bucket=bucket, x=left + index * slot + (slot - bar_width) / 2, width=bar_width, total=total)
        y = float(bottom)
        for key, color, counts in stacks:
            count = counts.get(bucket, 0)
            if not count:
                continue
            h = plot_height * count / maximum
            y -= h
            bar.segments.append(Segment(key=key, count=count, y=y, height=h, color=color))
        bars.append(bar)

    values = sorted({round(maximum * i / 4) for i in range(5)})
    ticks = [(bottom - plot_height * v / maximum, v) for v in values]
    every = max(1, round(len(buckets) / 12))
    fmt = "%d %b" if weekly or len(buckets) > 1 else "%d %b %Y"
    labels = [(left + i * slot + slot / 2, b.strftime(fmt)) for i, b in enumerate(buckets) if i % every == 0]
    legend = [(key, color, sum(counts.values())) for key, color, counts in stacks]
    return Chart(width=width, height=height, plot_top=top, plot_left=left, plot_bottom=bottom, bars=bars,
                 legend=legend, ticks=ticks, labels=labels, maximum=maximum)
