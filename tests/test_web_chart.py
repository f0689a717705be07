"""The overview's stacked bar chart geometry."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from monitor.web.chart import OTHER_COLOR, TOP, stacked_bars


def test_many_series_keep_the_biggest_and_merge_the_rest_into_other():
    weeks = [date(2025, 1, 6) + timedelta(days=7 * i) for i in range(4)]
    series = {f"Vendor {i}": Counter({weeks[0]: 10 - i, weeks[2]: 1}) for i in range(10)}
    chart = stacked_bars(weeks, series, weekly=True)
    keys = [key for key, _, _ in chart.legend]
    assert keys[: TOP - 1] == [f"Vendor {i}" for i in range(TOP - 1)]
    assert keys[-1] == "Other (4)" and chart.legend[-1][1] == OTHER_COLOR
    assert chart.legend[-1][2] == sum(10 - i + 1 for i in range(TOP - 1, 10))
    first, empty = chart.bars[0], chart.bars[1]
    assert first.total == sum(10 - i for i in range(10)) and empty.total == 0 and empty.segments == []
    # Segments stack from the bottom and the tallest bar fits the plot.
    assert (
        abs(
            sum(s.height for s in first.segments)
            - (chart.plot_bottom - chart.plot_top) * first.total / chart.maximum
        )
        < 1e-6
    )
    assert first.segments[0].y + first.segments[0].height == chart.plot_bottom
    assert chart.maximum >= first.total


def test_an_empty_period_draws_an_empty_chart():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(3)]
    chart = stacked_bars(days, {}, weekly=False)
    assert chart.legend == [] and all(b.total == 0 for b in chart.bars)
    assert [value for _, value in chart.ticks] == [0, 1]
