"""Changelog topic names: the CLI reads tables from the very topics Faust creates for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from salespulse.models.config import KafkaSettings, Settings
from salespulse.worker.pipeline import build_pipeline
from salespulse.streams.changelogs import changelog_topic
from salespulse.streams.families.mystery import DEALS_TABLE
from salespulse.streams.families.self_reports import REPORTS_TABLE


def test_changelog_topic_is_app_id_table_changelog() -> None:
    assert changelog_topic("sp", "rep_weeks_to_self_reports") == "sp-rep_weeks_to_self_reports-changelog"
    assert changelog_topic("salespulse", "deals_to_active_months") == "salespulse-deals_to_active_months-changelog"


@pytest.mark.parametrize("app_id", ["salespulse", "sp-test_2"])
def test_the_tables_the_cli_reads_have_the_changelogs_faust_creates(app_id: str, tmp_path: Path) -> None:
    settings = Settings.model_validate({"kafka": {"app_id": app_id}})
    # Builds the app, its topics and tables without connecting to a broker.
    topics = build_pipeline(settings, KafkaSettings(), data_dir=str(tmp_path)).changelog_topics()

    deals = changelog_topic(app_id, DEALS_TABLE)
    reports = changelog_topic(app_id, REPORTS_TABLE)
    assert deals == f"{app_id}-deals_to_active_months-changelog"
    assert reports == f"{app_id}-rep_weeks_to_self_reports-changelog"
    assert deals in topics
    assert reports in topics
    # Every changelog follows the same naming, so the helper names any table of the app.
    assert all(name.startswith(f"{app_id}-") and name.endswith("-changelog") for name in topics)
