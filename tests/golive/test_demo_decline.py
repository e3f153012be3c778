"""``golive demo`` gives one customer a declining card, paging through every billing
customer (a naive middleware's duplicates make more than one page; docs/demo.md)."""

from __future__ import annotations

from golive.demo import DECLINING_CARD, _decline_one
from simulators.estate import Estate


def test_the_declining_card_reaches_a_customer_on_the_second_page(golive: Estate) -> None:
    with golive.client("billing") as billing:
        made = [
            billing.post("/customers", json={
                "name": f"Customer {n}", "email": f"billing{n}@example.com", "currency": "USD",
                "crm_account_id": "acc_late" if n >= 100 else f"acc_{n}",
                "payment_method": "4242424242424242"}).json()
            for n in range(102)
        ]  # fmt: skip
        assert _decline_one(golive, "acc_late") == 2
        cards = {c["id"]: billing.get(f"/customers/{c['id']}").json()["payment_method"]
                 for c in made[99:]}  # fmt: skip
    assert cards == {made[99]["id"]: "4242424242424242", made[100]["id"]: DECLINING_CARD,
                     made[101]["id"]: DECLINING_CARD}  # fmt: skip
