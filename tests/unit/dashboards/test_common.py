"""Shared dashboard pieces: uids, the query helper, panel numbering and the PromQL fragments."""

from __future__ import annotations

import re

from grafana_foundation_sdk.builders import dashboard

from salespulse.dashboards.common import (
    BASE_TAGS,
    DATASOURCE_UID,
    UID_MAX,
    base_dashboard,
    dashboard_json,
    decision_time,
    default_stat,
    prometheus_query,
    stable_uid,
    team_variable,
    with_rep_names,
)


def test_stable_uid_keeps_plain_ids_and_is_deterministic() -> None:
    assert stable_uid("salespulse-wallboard", "new-york") == "salespulse-wallboard-new-york"
    assert stable_uid("a", "b") == stable_uid("a", "b")


def test_stable_uid_sanitises_and_shortens_without_collisions() -> None:
    long_a, long_b = "x" * 60 + "a", "x" * 60 + "b"
    uids = {stable_uid("salespulse-wallboard", t) for t in (long_a, long_b, "sales.nl", "sales:nl", "sales-nl")}
    assert len(uids) == 5
    for uid in uids:
        assert len(uid) <= UID_MAX
        assert re.fullmatch(r"[A-Za-z0-9_-]+", uid)


def test_prometheus_query_targets_the_salespulse_datasource() -> None:
    query = prometheus_query("up", "{{instance}}", instant=True, table_format=True).build().to_json()
    assert query["expr"] == "up"
    assert query["legendFormat"] == "{{instance}}"
    assert query["instant"] is True and query["range"] is False
    assert query["format"] == "table"
    assert query["datasource"].to_json() == {"type": "prometheus", "uid": DATASOURCE_UID}  # type: ignore[attr-defined]


def test_team_decision_time_divides_sums_never_averages() -> None:
    expr = decision_time('team="$team"', "outcome")
    assert "_avg" not in expr
    assert expr == (
        'sum by (outcome) (salespulse_deal_decision_seconds_combined{team="$team"}) '
        '/ (sum by (outcome) (salespulse_deals_decided{team="$team"}) > 0)'
    )


def test_rep_names_join_wraps_the_expression() -> None:
    assert with_rep_names("a - b") == "(a - b) * on (team, rep) group_left (name) salespulse_rep_info"


def test_team_variable_lists_teams_from_rep_info_and_can_be_preset() -> None:
    variable = team_variable("nl").build().to_json()
    assert variable["query"] == "label_values(salespulse_rep_info, team)"
    current = variable["current"].to_json()  # type: ignore[attr-defined]
    assert current == {"selected": True, "text": "nl", "value": "nl"}


def test_dashboard_json_numbers_panels_and_query_ref_ids() -> None:
    builder = (
        base_dashboard("t", "uid-t", ["x"], refresh="1m", time_from="now-1h")
        .with_panel(default_stat().with_target(prometheus_query("up")).with_target(prometheus_query("up")))
        .with_row(dashboard.Row("r").with_panel(default_stat().with_target(prometheus_query("up"))))
    )
    board = dashboard_json(builder)
    assert board["tags"] == [*BASE_TAGS, "x"]
    assert board["editable"] is False
    ids = [board["panels"][0]["id"], board["panels"][1]["id"], board["panels"][1]["panels"][0]["id"]]
    assert ids == [1, 2, 3]
    assert [t["refId"] for t in board["panels"][0]["targets"]] == ["A", "B"]
    assert board["panels"][1]["panels"][0]["targets"][0]["refId"] == "A"
