"""Every HTTP call the reference middleware makes, as a Pact interaction per outcome.

One function per interaction; a scenario (scenarios.py) adds the ones its run of the
middleware makes. The provider states are the vocabulary of docs/provider-states.md.
"""

from __future__ import annotations

from pact import Pact, match

from tests.contracts.pact_consumer.examples import (
    ACCOUNT,
    AR_INVOICE,
    BILLING_CUSTOMER,
    CURRENCY,
    END,
    ENTITLEMENT,
    ERP_CUSTOMER,
    INVOICE,
    OPPORTUNITY,
    ORDER,
    ORGANIZATION,
    PAYMENT,
    QUOTE,
    RECEIPT,
    SUBSCRIPTION,
    TOTAL_MINOR,
)
from tests.contracts.pact_consumer.http_calls import (
    call,
    created,
    found,
    is_,
    lookup,
    nothing,
    problem,
)

__all__ = [
    "ACCOUNT_STATE",
    "AR_STATE",
    "BILLING_CUSTOMER_STATE",
    "CUR",
    "DATE",
    "ENTITLEMENT_STATE",
    "ERP_CUSTOMER_STATE",
    "ORDER_STATE",
    "ORG_STATE",
    "QUOTE_STATE",
    "SUBSCRIPTION_STATE",
    "cpq_quote_accepted",
    "cpq_quote_approved",
    "cpq_quote_rate_limited",
    "crm_account",
    "erp_ar_invoice_found",
    "erp_ar_invoice_missing",
    "erp_ar_invoice_new",
    "erp_ar_invoice_none",
    "erp_customer_duplicate",
    "erp_customer_found",
    "erp_customer_new",
    "erp_customer_none",
    "erp_order_credit_limit",
    "erp_order_found",
    "erp_order_new",
    "erp_order_none",
    "erp_receipt_new",
    "erp_receipt_none",
]

DATE = r"^\d{4}-\d{2}-\d{2}$"
CUR = match.regex(CURRENCY, regex=r"^[A-Z]{3}$")

# -- provider states (docs/provider-states.md) -----------------------------------------------

QUOTE_STATE = ("an accepted quote {quote_id} totalling {amount_minor} {currency}",
               {"quote_id": QUOTE, "amount_minor": TOTAL_MINOR, "currency": CURRENCY})  # fmt: skip
ACCOUNT_STATE = ("an account {account_id} exists",
                 {"account_id": ACCOUNT, "name": "Acme Corp", "segment": "mid_market",
                  "country": "US", "website": "https://acme.example.com"})  # fmt: skip
ERP_CUSTOMER_STATE = ("an ERP customer {customer_id} with external id {external_id} exists",
                      {"customer_id": ERP_CUSTOMER, "external_id": ACCOUNT,
                       "currency": CURRENCY, "credit_limit_minor": 50_000_000})  # fmt: skip
SMALL_CREDIT_STATE = (ERP_CUSTOMER_STATE[0], {**ERP_CUSTOMER_STATE[1], "credit_limit_minor": 1_000})
ITEM_STATE = ("an item exists", {"sku": "PLAT-STD"})
ORDER_STATE = ("an ERP sales order {sales_order_id} for deal {external_id} exists",
               {"sales_order_id": ORDER, "external_id": OPPORTUNITY,
                "customer_id": ERP_CUSTOMER})  # fmt: skip
AR_STATE = ("an ERP AR invoice {ar_invoice_id} for billing invoice {external_id} exists",
            {"ar_invoice_id": AR_INVOICE, "external_id": INVOICE,
             "customer_id": ERP_CUSTOMER})  # fmt: skip
BILLING_CUSTOMER_STATE = ("a billing customer {customer_id} with external id {external_id} exists",
                          {"customer_id": BILLING_CUSTOMER, "external_id": ACCOUNT})  # fmt: skip
SUBSCRIPTION_STATE = ("a subscription {subscription_id} for deal {external_id} exists",
                      {"subscription_id": SUBSCRIPTION, "external_id": OPPORTUNITY,
                       "customer_id": BILLING_CUSTOMER})  # fmt: skip
ORG_STATE = ("an organization {organization_id} with external id {external_id} exists",
             {"organization_id": ORGANIZATION, "external_id": ACCOUNT})  # fmt: skip
ENTITLEMENT_STATE = (
    "an active entitlement {entitlement_id} for subscription {subscription_id} exists",
                     {"entitlement_id": ENTITLEMENT, "subscription_id": SUBSCRIPTION,
                      "organization_id": ORGANIZATION, "end_date": END})  # fmt: skip
RATE_LIMITED_STATE = ("the next {method} {path} is rate limited",
                      {"method": "GET", "path": f"/quotes/{QUOTE}"})  # fmt: skip

# -- CPQ and CRM: what a won deal reads --------------------------------------------------------

_QUOTE = {
    "id": match.str(QUOTE), "status": is_("accepted"), "currency": CUR,
    "term_months": match.int(12), "discount_bps": match.int(0),
    "lines": match.each_like({
        "sku": match.str("PLAT-STD"), "quantity": match.int(10),
        "net_minor": match.int(TOTAL_MINOR),
        "billing_type": match.regex("recurring", regex="^(recurring|usage|one_time)$"),
    }),
}  # fmt: skip


def cpq_quote_accepted(pact: Pact) -> None:
    i = call(pact, "a request for an accepted quote", "GET", f"/quotes/{QUOTE}",
             states=[QUOTE_STATE], corr=OPPORTUNITY)  # fmt: skip
    created(i, _QUOTE, 200)


def cpq_quote_approved(pact: Pact) -> None:
    i = call(pact, "a request for a quote approved but not accepted yet", "GET",
             f"/quotes/{QUOTE}", states=[("an approved quote exists", {"id": QUOTE})],
             corr=OPPORTUNITY)  # fmt: skip
    created(i, {**_QUOTE, "status": is_("approved")}, 200)


def cpq_quote_rate_limited(pact: Pact) -> None:
    i = call(pact, "a request for a quote while rate limited", "GET", f"/quotes/{QUOTE}",
             states=[QUOTE_STATE, RATE_LIMITED_STATE], corr=OPPORTUNITY)  # fmt: skip
    problem(i, 429, "rate_limit_exceeded", {"Retry-After": match.regex("1", regex=r"^\d+$")})


def crm_account(pact: Pact) -> None:
    i = call(pact, "a request for the deal's account", "GET", f"/accounts/{ACCOUNT}",
             states=[ACCOUNT_STATE], corr=OPPORTUNITY)  # fmt: skip
    created(i, {"id": match.str(ACCOUNT), "name": match.str("Acme Corp"),
                "country": match.regex("US", regex="^[A-Z]{2}$"),
                "segment": match.regex("mid_market", regex="^(smb|mid_market|enterprise)$"),
                "website": match.str("https://acme.example.com")}, 200)  # fmt: skip


# -- ERP ---------------------------------------------------------------------------------------

_ERP_CUSTOMER_BODY = {
    "name": match.str("Acme Corp"), "crm_account_id": match.str(ACCOUNT), "currency": CUR,
    "legal_entity": match.regex("US01", regex=r"^[A-Z]{2}\d{2}$"),
    "credit_limit_minor": match.int(50_000_000), "external_id": match.str(ACCOUNT),
}  # fmt: skip


def erp_customer_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new deal's ERP customer", "/customers", ACCOUNT,
                   OPPORTUNITY))  # fmt: skip


def erp_customer_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of an existing ERP customer", "/customers", ACCOUNT,
                 OPPORTUNITY, [ERP_CUSTOMER_STATE]), {"id": match.str(ERP_CUSTOMER)})  # fmt: skip


def erp_customer_new(pact: Pact) -> None:
    i = call(pact, "the creation of an ERP customer", "POST", "/customers", corr=OPPORTUNITY,
             step="erp-customer", body=_ERP_CUSTOMER_BODY)  # fmt: skip
    created(i, {"id": match.str(ERP_CUSTOMER), "external_id": match.str(ACCOUNT)})


def erp_customer_duplicate(pact: Pact) -> None:
    i = call(pact, "the creation of an ERP customer another process made first", "POST",
             "/customers", states=[ERP_CUSTOMER_STATE], corr=OPPORTUNITY, step="erp-customer",
             body=_ERP_CUSTOMER_BODY)  # fmt: skip
    problem(i, 409, "duplicate_external_id")


def erp_order_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new deal's ERP sales order", "/sales-orders",
                   OPPORTUNITY, OPPORTUNITY))  # fmt: skip


def erp_order_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of the deal's ERP sales order", "/sales-orders", OPPORTUNITY,
                 OPPORTUNITY, [ORDER_STATE]),
          {"id": match.str(ORDER), "customer_id": match.str(ERP_CUSTOMER)})  # fmt: skip


_ORDER_BODY = {
    "customer_id": ERP_CUSTOMER, "currency": CUR, "opportunity_id": match.str(OPPORTUNITY),
    "quote_id": match.str(QUOTE), "memo": match.str(f"Pact deal ({QUOTE})"),
    "lines": match.each_like({"sku": match.str("PLAT-STD"), "quantity": match.int(10),
                              "unit_price_minor": match.int(TOTAL_MINOR // 10)}),
    "external_id": match.str(OPPORTUNITY),
}  # fmt: skip


def erp_order_new(pact: Pact) -> None:
    i = call(pact, "the creation of an ERP sales order", "POST", "/sales-orders",
             states=[ERP_CUSTOMER_STATE, ITEM_STATE], corr=OPPORTUNITY, step="erp-order",
             body=_ORDER_BODY)  # fmt: skip
    created(i, {"id": match.str(ORDER), "external_id": match.str(OPPORTUNITY)})


def erp_order_credit_limit(pact: Pact) -> None:
    i = call(pact, "the creation of an ERP sales order beyond the credit limit", "POST",
             "/sales-orders", states=[SMALL_CREDIT_STATE, ITEM_STATE], corr=OPPORTUNITY,
             step="erp-order", body=_ORDER_BODY)  # fmt: skip
    problem(i, 422, "credit_limit_exceeded")


def erp_ar_invoice_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new billing invoice's AR invoice", "/invoices", INVOICE,
                   OPPORTUNITY))  # fmt: skip


def erp_ar_invoice_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of a billing invoice's AR invoice", "/invoices", INVOICE,
                 None, [AR_STATE]),
          {"id": match.str(AR_INVOICE), "customer_id": match.str(ERP_CUSTOMER)})  # fmt: skip


def erp_ar_invoice_missing(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of the AR invoice of a billing invoice not posted yet",
                   "/invoices", INVOICE, None))  # fmt: skip


def erp_ar_invoice_new(pact: Pact) -> None:
    i = call(pact, "the creation of an AR invoice for a billing invoice", "POST", "/invoices",
             states=[ORDER_STATE], corr=OPPORTUNITY, step="erp-ar-invoice",
             body={"customer_id": ERP_CUSTOMER, "sales_order_id": ORDER, "currency": CUR,
                   "subtotal_minor": match.int(100_000), "tax_minor": match.int(0),
                   "memo": match.str("Billing invoice INV-0001"),
                   "external_id": match.str(INVOICE)})  # fmt: skip
    created(i, {"id": match.str(AR_INVOICE), "external_id": match.str(INVOICE)})


def erp_receipt_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new payment's receipt", "/receipts", PAYMENT, None))


def erp_receipt_new(pact: Pact) -> None:
    i = call(pact, "the creation of a receipt for a billing payment", "POST", "/receipts",
             states=[AR_STATE], step="erp-receipt",
             body={"customer_id": ERP_CUSTOMER, "amount_minor": match.int(100_000),
                   "currency": CUR, "external_id": match.str(PAYMENT),
                   "applications": match.each_like(
                       {"ar_invoice_id": AR_INVOICE, "amount_minor": match.int(100_000)}
                   )})  # fmt: skip
    created(i, {"id": match.str(RECEIPT), "external_id": match.str(PAYMENT)})
