"""Rates files: validation with the line, entry and field of each mistake; keys; withdrawing a rate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from salespulse.models.errors import ConfigError
from salespulse.models.rates import Rate, RateBook, in_force, load_rates, parse_rates

GOOD = """\
rates:
  - {currency: USD, to: EUR, rate: 0.92, effective_from: 2026-01-01}
  - currency: USD
    to: EUR
    rate: 0.95
    effective_from: 2026-07-01
  - {currency: GBP, to: EUR, rate: 1.17, effective_from: 2026-01-01}
"""


def test_a_valid_file_gives_its_rates_in_file_order() -> None:
    rates = parse_rates(GOOD, "r.yaml")
    assert [r.key for r in rates] == ["USD|EUR|2026-01-01", "USD|EUR|2026-07-01", "GBP|EUR|2026-01-01"]
    assert rates[1] == Rate(currency="USD", to="EUR", rate=0.95, effective_from=date(2026, 7, 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("currency: USD\n", "currency: usd\n"),
         "r.yaml:3: rates.1.currency: String should match pattern '^[A-Z]{3}$'"),
        (GOOD.replace("rate: 0.95", "rate: 0"), "r.yaml:5: rates.1.rate: Input should be greater than 0"),
        (GOOD.replace("rate: 0.95", "rate: lots"), "r.yaml:5: rates.1.rate: Input should be a valid number"),
        (GOOD.replace("    effective_from: 2026-07-01\n", ""), "r.yaml:3: rates.1.effective_from: Field required"),
        (GOOD.replace("2026-07-01", "1 July"),
         "r.yaml:6: rates.1.effective_from: Input should be a valid date or datetime"),
        (GOOD.replace("to: EUR, rate: 1.17", "to: GBP, rate: 1.17"),
         "r.yaml:7: rates.2: Value error, a rate from GBP to itself is always 1; leave it out"),
        (GOOD.replace("rate: 0.92, effective_from: 2026-01-01}", "rate: 0.92, effective_from: 2026-01-01, note: x}"),
         "r.yaml:2: rates.0.note: Extra inputs are not permitted"),
        (GOOD.replace("rates:", "rate:"), "r.yaml:1: rates: Field required"),
        (GOOD.replace("2026-07-01", "2026-02-30"),
         "r.yaml:6: rates.1.effective_from: 2026-02-30 is not a date (day is out of range for month)"),
        ("rates: [\n", "r.yaml:2:1: not valid YAML"),
        ("", "r.yaml: empty; a rates file has a `rates` list"),
    ],
)
def test_invalid_files_are_refused_with_file_line_entry_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rates(text, "r.yaml")
    assert message in str(err.value)


def test_two_rates_of_a_pair_on_one_day_name_both_entries() -> None:
    text = GOOD + "  - {currency: USD, to: EUR, rate: 0.93, effective_from: 2026-07-01}\n"
    with pytest.raises(ConfigError) as err:
        parse_rates(text, "r.yaml")
    assert str(err.value) == "r.yaml:8: rates.3: USD to EUR already has a rate from 2026-07-01 (rates.1)"


def test_a_pair_and_day_given_twice_is_named_beside_the_other_mistakes() -> None:
    text = (
        "rates:\n"
        "  - {currency: USD, to: EUR, rate: 0.86, effective_from: 2026-01-01}\n"
        "  - {currency: usd, to: EUR, rate: 0.89, effective_from: 2026-07-01}\n"
        "  - {currency: USD, to: EUR, rate: 0.9, effective_from: 2026-01-01}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_rates(text, "r.yaml")
    assert str(err.value).splitlines() == [
        "r.yaml:3: rates.1.currency: String should match pattern '^[A-Z]{3}$'",
        "r.yaml:4: rates.2: USD to EUR already has a rate from 2026-01-01 (rates.0)",
    ]


def test_every_error_is_reported_at_once() -> None:
    text = GOOD.replace("rate: 0.92", "rate: -1").replace("rate: 1.17", "rate: 0")
    with pytest.raises(ConfigError) as err:
        parse_rates(text, "r.yaml")
    assert str(err.value).splitlines() == [
        "r.yaml:2: rates.0.rate: Input should be greater than 0",
        "r.yaml:7: rates.2.rate: Input should be greater than 0",
    ]


def test_load_rates_reads_the_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "rates.yaml"
    path.write_text(GOOD.replace("rate: 0.95", "rate: 0"))
    with pytest.raises(ConfigError, match=f"^{path}:5: rates.1.rate: "):
        load_rates(path)
    with pytest.raises(ConfigError, match=f"^{tmp_path / 'missing.yaml'}: cannot read rates: No such file"):
        load_rates(tmp_path / "missing.yaml")
    path.write_text(GOOD)
    assert len(load_rates(path)) == 3


def test_the_example_file_is_valid() -> None:
    rates = load_rates(Path(__file__).resolve().parents[3] / "examples" / "rates.yaml")
    assert {(r.currency, r.to) for r in rates} >= {("USD", "EUR"), ("GBP", "EUR")}


def test_withdrawing_a_rate_puts_the_one_before_it_in_force_again() -> None:
    book = RateBook(parse_rates(GOOD, "r.yaml"))
    book.remove("USD", "EUR", date(2026, 7, 1))
    assert book.rate("USD", "EUR", date(2026, 8, 1)) == 0.92
    book.remove("USD", "EUR", date(2026, 1, 1))
    assert book.rate("USD", "EUR", date(2026, 8, 1)) is None
    assert ("USD", "EUR") not in book.pairs
    book.remove("JPY", "EUR", date(2026, 1, 1))  # nothing to withdraw
    assert book.rate("GBP", "EUR", date(2026, 8, 1)) == 1.17


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2025, 12, 31), None),
        (date(2026, 1, 1), 0.92),
        (date(2026, 6, 30), 0.92),
        (date(2026, 7, 1), 0.95),
    ],
)
def test_in_force_is_the_latest_rate_of_the_pair_not_after_the_day(on: date, expected: float | None) -> None:
    chosen = in_force(parse_rates(GOOD, "r.yaml"), "USD", "EUR", on)
    assert (chosen.rate if chosen else None) == expected
