"""The wallboard's one declaration: both renderers show every declared panel, with the same queries."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from salespulse.dashboards import board
from salespulse.dashboards.common import NOTHING_DUE, TEAM, dashboard_json
from salespulse.dashboards.wallboard import team_wallboard, wallboard
from salespulse.web.tv import FILTERS, TV_PANELS, shown_keys, team_selector, tv_view
from tests.unit.web.support import NOW, floor

SETTINGS = floor()
PANELS = board.board(SETTINGS.mystery.reward_share)
TEMPLATES = Path(__file__).resolve().parents[3] / "salespulse" / "web" / "templates"


def grafana_queries(model: dict) -> set[str]:
    return {target["expr"] for panel in model["panels"] for target in panel.get("targets", [])}


def declared_queries(selector: str) -> set[str]:
    return {query.expr(selector) for panel in PANELS for query in panel.queries}


def tv_board_html() -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"])
    environment.filters.update(FILTERS)
    template = environment.get_template("tv_board.html")
    return template.render(view=tv_view(SETTINGS, "amsterdam", NOW, {}), problem=None, _=lambda text: text, lang="en")


def test_panel_keys_are_unique() -> None:
    assert len({panel.key for panel in PANELS}) == len(PANELS)


@pytest.mark.parametrize("model", [dashboard_json(wallboard(SETTINGS)), dashboard_json(team_wallboard("amsterdam", SETTINGS))],
                         ids=["picker", "per-team"])
def test_grafana_runs_exactly_the_declared_queries(model: dict) -> None:
    assert grafana_queries(model) == declared_queries(TEAM), "a panel is declared but not on the Grafana wallboard, or the reverse"


def test_the_tv_shows_every_declared_panel_and_no_other() -> None:
    assert shown_keys() == {panel.key for panel in PANELS}
    html = tv_board_html()
    for panel in PANELS:
        assert f'data-panel="{panel.key}"' in html, f"{panel.key} is declared but tv_board.html does not show it"
    assert {key for keys in TV_PANELS.values() for key in keys} <= {panel.key for panel in PANELS}


def test_the_tv_asks_prometheus_the_grafana_queries_for_its_team() -> None:
    grafana = grafana_queries(dashboard_json(team_wallboard("amsterdam", SETTINGS)))
    tv = declared_queries(team_selector("amsterdam"))
    assert {expr.replace(TEAM, team_selector("amsterdam")) for expr in grafana} == tv


@pytest.mark.parametrize(("value", "words", "colour"), [
    (None, "no target set", "grey"),
    (NOTHING_DUE, "nothing due yet", "grey"),
    (0.0, "0 %", "red"),
    (0.79, "79 %", "red"),
    (0.8, "80 %", "amber"),
    (0.999, "100 %", "amber"),
    (1.0, "100 %", "green"),
    (1.42, "142 %", "green"),
])
def test_pace_reads_and_colours_as_the_grafana_thresholds(value: float | None, words: str, colour: str) -> None:
    assert board.pace_words(value) == (words, colour)


def test_mystery_share_is_red_below_the_reward_share_and_green_from_it() -> None:
    steps = board.mystery_steps(0.8)
    assert [board.colour_of(v, steps) for v in (None, 0.5, 0.8, 1.0)] == ["red", "red", "green", "green"]
