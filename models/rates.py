"""Exchange rates: the file `salespulse rates apply` reads, and conversion at a date.

    rates:
      - {currency: USD, to: EUR, rate: 0.92, effective_from: 2026-01-01}
      - {currency: USD, to: EUR, rate: 0.95, effective_from: 2026-07-01}
      - {currency: GBP, to: EUR, rate: 1.17, effective_from: 2026-01-01}

One `currency` in `to` costs `rate`: 100 USD are 92 EUR from 1 January 2026, 95 EUR from 1 July.
A rate is in force from its day until the next rate of the same pair; a closed deal is valued at
the rate in force on its decision date, an open deal at the latest rate. Amounts already in the
team's currency need no rate.

A rates file is validated as a whole (`load_rates`); an error names the file, the line, the entry
and the field, and nothing of an invalid file is applied.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from salespulse.models.errors import ConfigError
from salespulse.models.yaml_source import line_of, load_yaml

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Rate(BaseModel):
    """One exchange rate: what one `currency` costs in `to`, from `effective_from` on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    currency: Currency
    to: Currency
    rate: float = Field(gt=0)
    effective_from: date

    @model_validator(mode="after")
    def _two_currencies(self) -> "Rate":
        if self.currency == self.to:
            raise ValueError(f"a rate from {self.currency} to itself is always 1; leave it out")
        return self

    @property
    def key(self) -> str:
        """Return the record key in the rates topic: one per pair and day."""
        return f"{self.currency}|{self.to}|{self.effective_from.isoformat()}"


class RatesFile(BaseModel):
    """The file `salespulse rates apply` reads."""

    model_config = ConfigDict(extra="forbid")

    rates: list[Rate]

    @model_validator(mode="after")
    def _one_rate_a_day(self) -> "RatesFile":
        seen: set[tuple[str, str, date]] = set()
        for rate in self.rates:
            key = (rate.currency, rate.to, rate.effective_from)
            if key in seen:
                raise ValueError(f"two rates of {rate.currency} to {rate.to} from {rate.effective_from}")
            seen.add(key)
        return self


class RateBook:
    """Every applied rate, by currency pair, in date order."""

    def __init__(self, rates: Iterable[Rate] = ()) -> None:
        self.pairs: dict[tuple[str, str], list[tuple[date, float]]] = {}
        for rate in rates:
            self.add(rate)

    def add(self, rate: Rate) -> None:
        """Apply one rate; a rate of the same pair and day replaces the earlier one."""
        held = self.pairs.setdefault((rate.currency, rate.to), [])
        held[:] = sorted([(day, value) for day, value in held if day != rate.effective_from] + [(rate.effective_from, rate.rate)])

    def remove(self, currency: str, to: str, effective_from: date) -> None:
        """Withdraw the pair's rate from a day; the rate before it is in force again from then."""
        held = self.pairs.get((currency, to), [])
        held[:] = [(day, value) for day, value in held if day != effective_from]
        if not held:
            self.pairs.pop((currency, to), None)

    def rate(self, currency: str, to: str, on: date | None) -> float | None:
        """Return what one `currency` costs in `to` on `on` (None: the latest rate); None without one."""
        if currency == to:
            return 1.0
        held = self.pairs.get((currency, to))
        if not held:
            return None
        if on is None:
            return held[-1][1]
        index = bisect_right(held, (on, float("inf"))) - 1
        return held[index][1] if index >= 0 else None

    def convert(self, amount: float, currency: str, to: str, on: date | None) -> float | None:
        """Return `amount` of `currency` in `to` at the rate in force on `on`; None without a rate."""
        rate = self.rate(currency, to, on)
        return None if rate is None else amount * rate


def in_force(rates: Iterable[Rate], currency: str, to: str, on: date) -> Rate | None:
    """Return the pair's rate with the latest `effective_from` not after `on`."""
    eligible = [r for r in rates if (r.currency, r.to) == (currency, to) and r.effective_from <= on]
    return max(eligible, key=lambda r: r.effective_from, default=None)


def _same_day(data: Any, root: yaml.Node | None, source: str) -> Iterator[str]:
    """Say which entries repeat the pair and day of an earlier one; entries invalid on their own are skipped."""
    entries = data.get("rates") if isinstance(data, dict) else None
    first: dict[str, int] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            rate = Rate.model_validate(entry)
        except ValidationError:
            continue
        if rate.key in first:
            yield (
                f"{source}:{line_of(root, ['rates', index])}: rates.{index}: {rate.currency} to {rate.to} "
                f"already has a rate from {rate.effective_from} (rates.{first[rate.key]})"
            )
        first.setdefault(rate.key, index)


def parse_rates(text: str, source: str) -> list[Rate]:
    """Validate a rates file, or raise ConfigError naming the line, entry and field of each mistake."""
    data: Any = load_yaml(text, source)
    root = yaml.compose(text)
    if data is None:
        raise ConfigError(f"{source}: empty; a rates file has a `rates` list")
    try:
        return RatesFile.model_validate(data).rates
    except ValidationError as exc:
        errors: list[str] = []
        whole_list: list[str] = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            located = f"{source}:{line_of(root, loc)}: {'.'.join(map(str, loc)) or '(top level)'}: {err['msg']}"
            (whole_list if not loc and err["type"] == "value_error" else errors).append(located)
        # RatesFile checks the list for a pair and day given twice only once every entry is valid,
        # and without naming them: the entries are named here, beside the other mistakes.
        same_day = list(_same_day(data, root, source))
        raise ConfigError("\n".join(errors + (same_day or whole_list))) from None


def load_rates(path: Path) -> list[Rate]:
    """Read and validate a rates file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read rates: {exc.strerror}") from None
    return parse_rates(text, str(path))
