from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.money import Money, MoneyError, apply_bps, format_minor


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [(10_000, 1_500, 1_500), (333, 5_000, 167), (1, 5_000, 1), (1, 4_999, 0), (-333, 5_000, -167)],
)
def test_apply_bps_rounds_half_away_from_zero(amount, bps, expected):
    assert apply_bps(amount, bps) == expected


@given(st.integers(-(10**12), 10**12), st.integers(0, 10_000))
def test_apply_bps_is_within_half_a_minor_unit_of_the_exact_value(amount, bps):
    exact = amount * bps / 10_000
    assert abs(apply_bps(amount, bps) - exact) <= 0.5


def test_money_refuses_floats_bools_and_unknown_currencies():
    with pytest.raises(MoneyError):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True, "USD")
    with pytest.raises(MoneyError):
        Money(1, "XXX")


def test_money_refuses_to_mix_currencies():
    with pytest.raises(MoneyError):
        Money(1, "USD") + Money(1, "EUR")
    assert Money(150, "USD") + Money(50, "USD") == Money(200, "USD")


def test_format_minor_uses_the_currency_exponent():
    assert format_minor(123_456, "USD") == "1234.56 USD"
    assert format_minor(-5, "EUR") == "-0.05 EUR"
    assert format_minor(1200, "JPY") == "1200 JPY"
