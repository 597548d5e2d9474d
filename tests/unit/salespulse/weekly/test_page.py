"""The weekly review's HTML page: the wallboard's colours, sparklines, nothing from outside."""

from __future__ import annotations

import re

import pytest

from salespulse.dashboards.common import PACE_STEPS
from salespulse.weekly.page import css_colour, level, render_html, sparkline
from salespulse.weekly.review import WeekCell
from tests.unit.salespulse.weekly.test_review import small_review

WALLBOARD = dict(PACE_STEPS)


def wallboard_colour(ratio: float) -> str:
    """The colour the wallboard gives a ratio: the step with the highest lower bound not above it."""
    bound = max(b for b in WALLBOARD if b is not None and b <= ratio)
    return css_colour(WALLBOARD[bound])


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.79, 0.8, 0.95, 0.999, 1.0, 1.3])
def test_attainment_is_coloured_as_on_the_wallboard(ratio: float) -> None:
    page = render_html(small_review())
    variables = dict(re.findall(r"--(red|amber|green): ([^;]+);", page))
    assert variables[level(ratio)] == wallboard_colour(ratio)


def test_unknown_attainment_is_not_coloured() -> None:
    assert level(None) == ""


def test_the_page_is_self_contained() -> None:
    page = render_html(small_review())
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    # The only URL is the SVG namespace, which is a name and never fetched.
    assert set(re.findall(r"https?://[^\s\"')<]+", page)) == {"http://www.w3.org/2000/svg", "http://prometheus:9090"}
    assert "@page { size: A4;" in page and "@media print" in page


def test_a_sparkline_draws_known_weeks_and_leaves_gaps() -> None:
    cells = [
        WeekCell("2026-W44", 4, 8),
        WeekCell("2026-W45", None, 8),
        WeekCell("2026-W46", 8, 8),
        WeekCell("2026-W47", 6, 8),
    ]
    svg = sparkline(cells)
    # Width 120, height 26, 3 px padding: x steps of 38 px, y from 23 (0) up to 3 (the top, 8).
    assert '<polyline points="3.0,3.0 41.0,3.0 79.0,3.0 117.0,3.0"' in svg  # the target, dashed
    # The counts: W44 alone before the gap draws no line; W46 to W47 does.
    assert '<polyline points="79.0,3.0 117.0,8.0" fill="none" stroke="#1f2328"' in svg
    assert svg.count("<polyline") == 2
    # The last week's dot: 6 of 8 is 75 %, below the amber bound.
    assert '<circle cx="117.0" cy="8.0" r="3" fill="var(--red)"' in svg
    assert "<title>2026-W44: 4 (50%), 2026-W45: –, 2026-W46: 8 (100%), 2026-W47: 6 (75%)</title>" in svg


def test_every_trend_row_has_its_sparkline() -> None:
    page = render_html(small_review())
    # Team trends (2 actions) and each rep's weeks (2 reps x 2 actions).
    assert page.count('<td class="spark"><svg') == 6
