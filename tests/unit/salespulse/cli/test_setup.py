"""`rates apply` and `rates show` on a stand-in for the rates topic: what they publish and print."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from salespulse.cli import main
from salespulse.cli.setup import rates_text
from salespulse.models.config import KafkaSettings, KafkaTopology
from salespulse.models.rates import Rate
from salespulse.streams.rates import RateFollower

JAN = Rate(currency="USD", to="EUR", rate=0.86, effective_from=date(2026, 1, 1))
JUL = Rate(currency="USD", to="EUR", rate=0.89, effective_from=date(2026, 7, 1))
GBP = Rate(currency="GBP", to="EUR", rate=1.15, effective_from=date(2026, 1, 1))
JPY = Rate(currency="JPY", to="EUR", rate=0.0055, effective_from=date(2026, 9, 1))


@pytest.fixture(autouse=True)
def built_in_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the commands on the built-in defaults (app id `salespulse`), whatever the environment."""
    monkeypatch.delenv("SALESPULSE_CONFIG", raising=False)


class FakeTopic:
    """The rates topic as a list of published rates, behind read_rates and publish_rates."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *held: Rate) -> None:
        self.published: list[Rate] = list(held)
        monkeypatch.setattr("salespulse.streams.topics.ensure_topics", self.ensure_topics)
        monkeypatch.setattr("salespulse.streams.rates.read_rates", self.read_rates)
        monkeypatch.setattr("salespulse.streams.rates.publish_rates", self.publish_rates)
        monkeypatch.setattr("salespulse.streams.rates.withdraw_rates", self.withdraw_rates)
        self.withdrawn: list[Rate] = []

    async def ensure_topics(self, kafka: KafkaSettings, topology: KafkaTopology) -> list[str]:
        return []

    async def read_rates(self, kafka: KafkaSettings, topic: str) -> RateFollower:
        assert topic == "salespulse-rates"
        follower = RateFollower()
        for rate in self.published:
            follower.rates[rate.key] = rate
            follower.book.add(rate)
        return follower

    async def publish_rates(self, kafka: KafkaSettings, topic: str, rates: list[Rate]) -> None:
        self.published += rates

    async def withdraw_rates(self, kafka: KafkaSettings, topic: str, rates: list[Rate]) -> None:
        self.withdrawn += rates
        self.published = [rate for rate in self.published if rate not in rates]


def test_show_prints_the_rate_in_force_per_pair() -> None:
    assert rates_text([JAN, JUL, GBP, JPY], date(2026, 8, 1)) == [
        "rates in force on 2026-08-01:",
        "  GBP to EUR: 1.15 (from 2026-01-01)",
        "  JPY to EUR: none in force yet (the first from 2026-09-01)",
        "  USD to EUR: 0.89 (from 2026-07-01)",
    ]
    assert rates_text([JAN, JUL, GBP], date(2026, 6, 30))[2] == "  USD to EUR: 0.86 (from 2026-01-01)"


def test_show_says_when_no_rates_have_been_applied() -> None:
    assert rates_text([], date(2026, 8, 1)) == ["no rates have been applied"]


def test_rates_show_reads_the_topic(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    FakeTopic(monkeypatch, JAN, JUL)
    assert main(["rates", "show", "--on", "2026-03-15"]) == 0
    assert capsys.readouterr().out == "rates in force on 2026-03-15:\n  USD to EUR: 0.86 (from 2026-01-01)\n"


def test_rates_show_refuses_a_day_that_is_not_a_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rates", "show", "--on", "2026-13-01"]) == 2
    assert capsys.readouterr().err == "salespulse: error: --on: '2026-13-01' is not a date such as 2026-07-01\n"


def test_rates_apply_publishes_only_what_changed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topic = FakeTopic(monkeypatch, JAN, JUL.model_copy(update={"rate": 0.88}))
    path = tmp_path / "rates.yaml"
    path.write_text(
        "rates:\n"
        "  - {currency: USD, to: EUR, rate: 0.86, effective_from: 2026-01-01}\n"
        "  - {currency: USD, to: EUR, rate: 0.89, effective_from: 2026-07-01}\n"
        "  - {currency: GBP, to: EUR, rate: 1.15, effective_from: 2026-01-01}\n"
    )
    assert main(["rates", "apply", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: 3 rates valid; published 2 changed, 1 unchanged\n"
        "  USD to EUR from 2026-07-01: 0.89, was 0.88\n"
        "  GBP to EUR from 2026-01-01: 1.15, new\n"
    )
    assert topic.published[2:] == [JUL, GBP]


def test_rates_apply_of_an_invalid_file_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topic = FakeTopic(monkeypatch)
    path = tmp_path / "rates.yaml"
    path.write_text("rates:\n  - {currency: USD, to: EUR, rate: -0.86, effective_from: 2026-01-01}\n")
    assert main(["rates", "apply", str(path)]) == 2
    assert capsys.readouterr().err == f"salespulse: error: {path}:2: rates.0.rate: Input should be greater than 0\n"
    assert topic.published == []


def test_rates_apply_names_applied_rates_missing_from_the_file_and_keeps_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topic = FakeTopic(monkeypatch, JAN, JUL, JPY)
    path = tmp_path / "rates.yaml"
    path.write_text("rates:\n  - {currency: USD, to: EUR, rate: 0.86, effective_from: 2026-01-01}\n")
    assert main(["rates", "apply", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: 1 rates valid; published 0 changed, 1 unchanged\n"
        "  2 applied rates are not in the file and stay in force (JPY|EUR|2026-09-01, USD|EUR|2026-07-01); "
        "--prune withdraws them\n"
    )
    assert (topic.published, topic.withdrawn) == ([JAN, JUL, JPY], [])


def test_rates_apply_with_prune_withdraws_what_the_file_no_longer_has(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    topic = FakeTopic(monkeypatch, JAN, JUL, JPY)
    path = tmp_path / "rates.yaml"
    path.write_text(
        "rates:\n"
        "  - {currency: USD, to: EUR, rate: 0.86, effective_from: 2026-01-01}\n"
        "  - {currency: GBP, to: EUR, rate: 1.15, effective_from: 2026-01-01}\n"
    )
    assert main(["rates", "apply", "--prune", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}: 2 rates valid; published 1 changed, 1 unchanged; withdrew 2 not in the file\n"
        "  GBP to EUR from 2026-01-01: 1.15, new\n"
        "  USD to EUR from 2026-07-01: withdrawn (was 0.89)\n"
        "  JPY to EUR from 2026-09-01: withdrawn (was 0.0055)\n"
    )
    assert (topic.published, topic.withdrawn) == ([JAN, GBP], [JUL, JPY])
