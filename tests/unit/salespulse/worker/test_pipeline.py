"""The composition root's serving defaults: loopback, and /metrics as the only page."""

from __future__ import annotations

import logging
from pathlib import Path

from faust.assignor.client_assignment import ClientAssignment

from salespulse.streams.engine import Engine
from salespulse.models.config import KafkaSettings, Settings
from salespulse.models.routes import ROUTES
from salespulse.worker.pipeline import PipelineWorker, build_pipeline, family_class, rep_owner, team_owner
from salespulse.streams.engine.recovery import TablesDefinedAtStart
from salespulse.streams.topics import TopicNames, partition_of


def test_the_worker_listens_on_loopback_by_default(tmp_path: Path) -> None:
    app = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app
    assert app.conf.web_bind == "127.0.0.1"
    assert app.conf.web_port == 6066


def test_the_configuration_and_the_command_line_choose_the_address(tmp_path: Path) -> None:
    settings = Settings.model_validate({"metrics_bind": "0.0.0.0", "metrics_port": 7000})
    assert build_pipeline(settings, KafkaSettings(), data_dir=str(tmp_path)).app.conf.web_bind == "0.0.0.0"
    chosen = build_pipeline(settings, KafkaSettings(), bind="10.1.2.3", port=7100, data_dir=str(tmp_path)).app.conf
    assert (chosen.web_bind, chosen.web_port) == ("10.1.2.3", 7100)


def test_faust_pages_that_show_tables_are_off(tmp_path: Path) -> None:
    conf = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app.conf
    assert not conf.web_tables_enabled
    assert not conf.web_router_enabled
    assert not conf.web_graph_enabled
    assert not conf.web_stats_enabled


def test_a_static_member_keeps_its_url_across_ports(tmp_path: Path) -> None:
    """The broker gives a restarted static member its last assignment, which names the URL."""
    first = build_pipeline(Settings(), KafkaSettings(), port=7001, instance_id="floor-1", data_dir=str(tmp_path)).app
    again = build_pipeline(Settings(), KafkaSettings(), port=7002, instance_id="floor-1", data_dir=str(tmp_path)).app
    other = build_pipeline(Settings(), KafkaSettings(), port=7002, instance_id="floor-2", data_dir=str(tmp_path)).app
    assert str(first.conf.canonical_url) == str(again.conf.canonical_url) == "http://floor-1"
    assert str(other.conf.canonical_url) != str(first.conf.canonical_url)
    assert first.conf.consumer_group_instance_id == "floor-1"


def test_consumer_group_timeouts_allow_fail_over_within_seconds(tmp_path: Path) -> None:
    conf = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app.conf
    # Far below Kafka's 45 s, above a broker restart (see build_pipeline).
    assert conf.broker_session_timeout == 10.0
    assert conf.broker_heartbeat_interval * 3 <= conf.broker_session_timeout


def test_debug_lines_are_not_made_at_the_warn_level(tmp_path: Path) -> None:
    """Faust's spinner would set the root logger to DEBUG, so every library debug line is formatted."""
    app = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        root.handlers = [logging.NullHandler()]
        root.setLevel(logging.WARNING)
        PipelineWorker(app, loglevel="warn", quiet=True).on_setup_root_logger(root, logging.WARNING)
        assert root.level == logging.WARNING
        assert not logging.getLogger("faust.tables.recovery").isEnabledFor(logging.DEBUG)
        assert not any(type(handler).__name__ == "SpinnerHandler" for handler in root.handlers)
    finally:
        root.handlers, root.level = handlers, level


def test_tables_recover_without_waiting_for_late_tables(tmp_path: Path) -> None:
    app = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path)).app
    assert isinstance(app.tables, TablesDefinedAtStart)


def test_the_owner_of_a_rep_follows_each_new_assignment() -> None:
    engine = Engine.create("sp", store="memory://")
    topics = TopicNames("sp")
    owns_rep, owns_teams = rep_owner(engine, topics, 8), team_owner(engine, topics)
    ann = partition_of("nl|ann", 8)
    other = (ann + 1) % 8
    engine.app.assignor._assignment = ClientAssignment(actives={topics.activities_by_rep: [ann]}, standbys={})
    assert owns_rep("nl", "ann") and owns_teams() == (ann == 0)
    # A rebalance gives this worker other partitions, and the deal topics' partition of Ann's.
    engine.app.assignor._assignment = ClientAssignment(
        actives={topics.activities_by_rep: [other, 0], topics.deal_stages_by_deal: [ann]}, standbys={}
    )
    assert not owns_rep("nl", "ann")
    assert owns_teams()


def test_each_route_is_read_by_the_agent_of_the_family_it_names(tmp_path: Path) -> None:
    pipeline = build_pipeline(Settings(), KafkaSettings(), data_dir=str(tmp_path))
    topics = TopicNames(Settings().kafka.app_id)
    agents = {topic: inbox.name for topic, inbox in pipeline.engine.inboxes.items()}
    expected = {
        "activity": {"activities-by-rep": "count_actions", "deal-activities-by-deal": "judge_deals"},
        "deal_stage": {"deal-stages-by-deal": "judge_deals"},
        "review": {"reviews-by-rep": "score_reviews"},
        "mystery_check": {"mystery-checks-by-team": "score_mystery_checks"},
        "self_report": {"self-reports-by-rep": "file_self_reports"},
    }
    for route in ROUTES:
        assert family_class(route).__name__ == route.family.split(":")[1]
        assert family_class(route).agent in expected[route.name].values()
        assert {topic: agents[topics.of(topic)] for topic in route.topics()} == {
            name.replace("-", "_"): agent for name, agent in expected[route.name].items()
        }
        # Producers' topics are read by the ingest agent.
        assert agents[topics.of(route.topic)] == "validate_events"
