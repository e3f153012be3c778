from __future__ import annotations

import pydantic
import pytest

from lifecycle.entities.crm import Opportunity

BASE = {
    "id": "opp_1", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
    "account_id": "acc_1", "name": "Deal",
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("close_date", "2026-13-01"),
        ("close_date", "2026-02-30"),
        ("closed_at", "2026-01-01T25:00:00Z"),
    ],
)
def test_impossible_dates_and_instants_are_refused_not_just_malformed_ones(field, value):
    with pytest.raises(pydantic.ValidationError):
        Opportunity.model_validate({**BASE, field: value})


def test_unknown_fields_are_refused():
    with pytest.raises(pydantic.ValidationError):
        Opportunity.model_validate({**BASE, "colour": "red"})
