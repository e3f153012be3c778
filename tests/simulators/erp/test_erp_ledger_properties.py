"""Property: whatever sequence of postings, refusals, voids and closes, the ledger balances.

Driven on the state object (no HTTP) so hypothesis can try many sequences quickly.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.erp.state import ErpState
from simulators.kit.errors import SimError
from simulators.kit.runtime import Runtime

LEGAL_ENTITIES = ("US01", "DE01", "JP01")
DATES = st.sampled_from(["2025-01-15", "2025-01-31", "2025-02-01", "2025-02-28", "2025-03-10"])
MONEY = st.integers(0, 10**9)
WHO = st.integers(0, len(LEGAL_ENTITIES) - 1)
PICK = st.integers(0, 50)  # an index into the invoices so far, modulo their number

OPERATIONS = st.one_of(
    st.tuples(st.just("invoice"), WHO, MONEY, st.integers(0, 10**8), DATES),
    st.tuples(
        st.just("receipt"),
        WHO,
        st.integers(1, 10**9),
        st.lists(st.tuples(PICK, st.integers(1, 10**9)), max_size=3),
        DATES,
    ),
    st.tuples(st.just("pay_in_full"), PICK, DATES),
    st.tuples(st.just("void"), PICK),
    st.tuples(
        st.just("manual"), WHO, st.lists(st.integers(1, 10**9), min_size=1, max_size=4), DATES
    ),
    st.tuples(st.just("order"), WHO, st.integers(1, 50), st.integers(0, 10**6)),
    st.tuples(st.just("close"), DATES),
    st.tuples(st.just("reopen"), DATES),
)


def _apply(state: ErpState, customers: list[dict], invoices: list[str], op: tuple) -> None:
    kind, args = op[0], op[1:]
    if kind == "invoice":
        who, subtotal, tax, day = args
        invoice = state.create_invoice(
            {
                "customer_id": customers[who]["id"],
                "external_id": None,
                "currency": None,
                "posting_date": day,
                "subtotal_minor": subtotal,
                "tax_minor": tax,
                "memo": None,
                "sales_order_id": None,
            }
        )
        invoices.append(invoice["id"])
    elif kind == "receipt" and invoices:
        who, amount, apps, day = args
        state.create_receipt(
            {
                "customer_id": customers[who]["id"],
                "amount_minor": amount,
                "currency": None,
                "received_date": day,
                "external_id": None,
                "applications": [
                    {"ar_invoice_id": invoices[i % len(invoices)], "amount_minor": a}
                    for i, a in apps
                ],
            }
        )
    elif kind == "pay_in_full" and invoices:
        pick, day = args
        invoice = state.col("ar_invoice").get(invoices[pick % len(invoices)])
        due = invoice["amount_due_minor"]
        state.create_receipt(
            {
                "customer_id": invoice["customer_id"],
                "amount_minor": max(due, 1),
                "currency": None,
                "received_date": day,
                "external_id": None,
                "applications": [{"ar_invoice_id": invoice["id"], "amount_minor": due}]
                if due
                else [],
            }
        )
    elif kind == "void" and invoices:
        state.void_invoice(invoices[args[0] % len(invoices)])
    elif kind == "manual":
        who, amounts, day = args
        lines = [{"account": "6000", "debit_minor": a, "credit_minor": 0} for a in amounts]
        lines.append({"account": "1000", "debit_minor": 0, "credit_minor": sum(amounts)})
        state.create_manual_entry(
            {
                "legal_entity": LEGAL_ENTITIES[who],
                "currency": customers[who]["currency"],
                "posting_date": day,
                "memo": None,
                "lines": lines,
                "external_id": None,
            }
        )
    elif kind == "order":
        who, quantity, price = args
        order = state.create_order(
            {
                "customer_id": customers[who]["id"],
                "currency": None,
                "order_date": None,
                "lines": [
                    {
                        "sku": "PLAT-STD",
                        "item_id": None,
                        "quantity": quantity,
                        "unit_price_minor": price,
                    }
                ],
                "quote_id": None,
                "opportunity_id": None,
                "external_id": None,
                "memo": None,
            }
        )
        for action in ("approve", "fulfill"):
            state.act_on_order(order["id"], action)
        invoices.append(state.invoice_order(order["id"], {})["id"])
    elif kind == "close":
        state.close_period(args[0][:7])
    elif kind == "reopen":
        state.reopen_period(args[0][:7])


def _check_invariants(state: ErpState) -> None:
    for entry in state.col("journal_entry"):
        debits = sum(line["debit_minor"] for line in entry["lines"])
        credits = sum(line["credit_minor"] for line in entry["lines"])
        assert debits == credits, entry
    tb = state.trial_balance()
    assert tb["balanced"], tb["totals"]
    # The receivable account agrees with what the invoices say is still due.
    ar_ledger = {
        (r["legal_entity"], r["currency"]): r["balance_minor"]
        for r in tb["accounts"]
        if r["account"] == "1200"
    }
    ar_subledger: dict[tuple[str, str], int] = defaultdict(int)
    for invoice in state.col("ar_invoice"):
        customer = state.col("erp_customer").get(invoice["customer_id"])
        ar_subledger[(customer["legal_entity"], invoice["currency"])] += invoice["amount_due_minor"]
    for key in set(ar_ledger) | set(ar_subledger):
        assert ar_ledger.get(key, 0) == ar_subledger.get(key, 0), key
    for invoice in state.col("ar_invoice"):
        assert (invoice["status"] == "open") == (invoice["amount_due_minor"] > 0), invoice


@settings(max_examples=300, deadline=None)
@given(st.lists(OPERATIONS, max_size=25))
def test_any_sequence_of_postings_keeps_every_entry_and_the_trial_balance_balanced(ops):
    state = ErpState(Runtime("erp"))
    customers = [
        state.create_customer(
            {
                "name": code,
                "legal_entity": code,
                "currency": None,
                "credit_limit_minor": 10**15,
                "tax_exempt": False,
                "crm_account_id": None,
                "external_id": None,
            }
        )
        for code in LEGAL_ENTITIES
    ]
    state.create_item(
        {
            "sku": "PLAT-STD",
            "name": "Platform",
            "type": "subscription",
            "revenue_account": "4000",
            "external_id": None,
        }
    )
    invoices: list[str] = []
    for op in ops:
        before = len(state.col("journal_entry"))
        try:
            _apply(state, customers, invoices, op)
        except SimError:
            # A refusal leaves no half-written posting behind.
            assert len(state.col("journal_entry")) == before
        _check_invariants(state)
