"""Exchange rates: the file `salespulse rates apply` reads, and conversion at a date.

    rates:
      - {currency: USD, to: EUR, rate: 0.92, effective_from: 2026-01-01}
      - {currency: USD, to: EUR, rate: 0.95, effective_from: 2026-07-01}
      - {currency: GBP, to: EUR, rate: 1.17, effective_from: 2026-01-01}

One `currency` in `to` costs `rate`: 100 USD are 92 EUR from 1 January 2026, 95 EUR from 1 July.
A rate is in force from its day until the next rate of the same pair; a closed deal is valued at
the rate in force on its decision date, an open deal at the latest rate. Amounts already in the
team's currency need no rate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
