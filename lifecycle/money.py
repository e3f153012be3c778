"""Money as integer minor units plus an ISO 4217 currency: never floats.

Every amount in golive is an ``int`` of the currency's minor unit (cents for USD,
yen for JPY). Rounding of ratios (discounts, tax) is half-up on the exact
integer fraction, so every part of golive gets the same cent.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CURRENCY_EXPONENTS",
    "Money",
    "MoneyError",
    "apply_bps",
    "check_currency",
    "format_minor",
]

# ISO 4217 minor-unit exponents of the currencies the simulators accept.
CURRENCY_EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "SGD": 2, "NZD": 2, "BRL": 2, "MXN": 2, "INR": 2,
    "JPY": 0, "KRW": 0,
}  # fmt: skip

BPS_DENOMINATOR = 10_000


class MoneyError(ValueError):
    """An amount or currency that golive cannot accept."""


def check_currency(code: str) -> str:
    """Return ``code`` if it is a supported ISO currency, else raise MoneyError."""
    if code not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unsupported currency {code!r}")
    return code


def apply_bps(amount_minor: int, bps: int) -> int:
    """``amount_minor * bps / 10000`` rounded half away from zero, in integers only."""
    numerator = amount_minor * bps
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), BPS_DENOMINATOR)
    if remainder * 2 >= BPS_DENOMINATOR:
        quotient += 1
    return sign * quotient


def format_minor(amount_minor: int, currency: str) -> str:
    """Human form, for reports only: ``format_minor(123456, "USD") == "1234.56 USD"``."""
    exp = CURRENCY_EXPONENTS.get(currency, 2)
    if exp == 0:
        return f"{amount_minor} {currency}"
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d} {currency}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency; arithmetic refuses mixed currencies."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise MoneyError("amount_minor must be an integer number of minor units")
        check_currency(self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def times(self, quantity: int) -> Money:
        return Money(self.amount_minor * quantity, self.currency)

    def bps(self, bps: int) -> Money:
        """This amount times ``bps`` basis points, rounded half away from zero."""
        return Money(apply_bps(self.amount_minor, bps), self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def __str__(self) -> str:
        return format_minor(self.amount_minor, self.currency)
