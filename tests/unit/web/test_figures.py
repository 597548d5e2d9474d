"""The figures a page shows read the same from Prometheus as from /metrics."""

from __future__ import annotations

from salespulse.web.figures import PAGE_FAMILIES, samples_of_vector, team_query


def test_one_query_selects_the_page_families_of_a_team() -> None:
    query = team_query("amsterdam")
    assert query.startswith('{__name__=~"salespulse_actions|') and query.endswith('", team="amsterdam"}')
    assert all(name in query for name in PAGE_FAMILIES)


def test_a_vector_reads_as_samples_of_several_workers_summed() -> None:
    rows = [
        {"metric": {"__name__": "salespulse_actions", "team": "amsterdam", "rep": "anna", "action": "call",
                    "window": "week", "job": "salespulse", "instance": "w1:6066"}, "value": [1.0, "17"]},
        {"metric": {"__name__": "salespulse_actions", "team": "amsterdam", "rep": "bram", "action": "call",
                    "window": "week", "job": "salespulse", "instance": "w2:6066"}, "value": [1.0, "5"]},
    ]
    samples = samples_of_vector(rows)
    assert samples.one("salespulse_actions", rep="anna", window="week") == 17
    assert samples.one("salespulse_actions", action="call") == 22
    assert samples.select("salespulse_actions", rep="anna")[0][0] == {
        "team": "amsterdam", "rep": "anna", "action": "call", "window": "week"}
    assert samples.one("salespulse_action_target", rep="anna") is None
