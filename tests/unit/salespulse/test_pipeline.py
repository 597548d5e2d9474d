"""The composition root's serving defaults: loopback, and /metrics as the only page."""

from __future__ import annotations

from pathlib import Path

from salespulse.models.config import KafkaSettings, Settings
from salespulse.pipeline import build_pipeline


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
