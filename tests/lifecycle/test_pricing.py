from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecycle.pricing import (
    BillingType,
    PriceScheme,
    PriceSpec,
    PricingError,
    QuoteLineInput,
    Tier,
    price_quantity,
    price_quote,
)

TIERS = (Tier(10, 1_000), Tier(50, 800, flat_amount_minor=500), Tier(None, 600))


def test_graduated_tiers_price_each_unit_in_its_own_tier():
    spec = PriceSpec(PriceScheme.TIERED, tiers=TIERS)
    # 10 x 10.00 + (40 x 8.00 + 5.00 flat) + 5 x 6.00
    assert price_quantity(spec, 55) == 10_000 + 32_000 + 500 + 3_000


def test_volume_tiers_price_every_unit_at_the_tier_of_the_total():
    spec = PriceSpec(PriceScheme.VOLUME, tiers=TIERS)
    assert price_quantity(spec, 10) == 10_000
    assert price_quantity(spec, 11) == 11 * 800 + 500
    assert price_quantity(spec, 55) == 55 * 600


def test_quote_totals_apply_term_line_then_header_discounts():
    seats = QuoteLineInput(PriceSpec(PriceScheme.PER_UNIT, 5_000), BillingType.RECURRING, 10, 1_000)
    setup = QuoteLineInput(PriceSpec(PriceScheme.PER_UNIT, 99_900), BillingType.ONE_TIME, 1)
    totals = price_quote([seats, setup], term_months=12, header_discount_bps=500)
    # seats: 10 x 50.00 x 12 = 6000.00, 10 % off = 5400.00; setup 999.00 once
    assert [line.net_minor for line in totals.lines] == [540_000, 99_900]
    assert totals.list_minor == 600_000 + 99_900
    assert totals.header_discount_minor == 31_995  # 5 % of 6399.00
    assert totals.total_minor == 639_900 - 31_995
    # what billing charges: both discounts (45,000 a month and 99,900 once, less 5 %)
    assert totals.recurring_monthly_list_minor == 50_000
    assert totals.recurring_monthly_minor == 42_750
    assert totals.one_time_minor == 94_905
    assert totals.recurring_monthly_minor * 12 + totals.one_time_minor == totals.total_minor
    assert not totals.needs_approval


def test_discount_above_threshold_needs_approval():
    line = QuoteLineInput(PriceSpec(PriceScheme.PER_UNIT, 1_000), BillingType.RECURRING, 1, 2_001)
    assert price_quote([line], 12).needs_approval
    at_threshold = QuoteLineInput(line.spec, line.billing_type, 1, 2_000)
    assert not price_quote([at_threshold], 12).needs_approval


@pytest.mark.parametrize(
    "tiers",
    [(), (Tier(10, 1),), (Tier(None, 1), Tier(None, 2)), (Tier(10, 1), Tier(5, 1), Tier(None, 1))],
)
def test_malformed_tiers_are_refused(tiers):
    with pytest.raises(PricingError):
        PriceSpec(PriceScheme.TIERED, tiers=tiers)


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_graduated_price_never_decreases_with_quantity(a, b):
    spec = PriceSpec(PriceScheme.TIERED, tiers=TIERS)
    low, high = sorted((a, b))
    assert price_quantity(spec, low) <= price_quantity(spec, high)
