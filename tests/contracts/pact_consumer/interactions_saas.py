"""The billing and support calls of the reference middleware, as Pact interactions."""

from __future__ import annotations

from pact import Pact, match

from tests.contracts.pact_consumer.examples import (
    ACCOUNT,
    BILLING_CUSTOMER,
    END,
    ENTITLEMENT,
    OPPORTUNITY,
    ORGANIZATION,
    QUOTE,
    RENEWED_END,
    START,
    SUBSCRIPTION,
)
from tests.contracts.pact_consumer.http_calls import call, created, found, is_, lookup, nothing
from tests.contracts.pact_consumer.interactions import (
    BILLING_CUSTOMER_STATE,
    CUR,
    DATE,
    ENTITLEMENT_STATE,
    ORG_STATE,
    SUBSCRIPTION_STATE,
)

__all__ = [
    "billing_customer_found",
    "billing_customer_new",
    "billing_customer_none",
    "billing_subscription_found",
    "billing_subscription_new",
    "billing_subscription_none",
    "billing_subscription_read",
    "support_entitlement_extend",
    "support_entitlement_found",
    "support_entitlement_new",
    "support_entitlement_none",
    "support_entitlement_suspend",
    "support_organization_found",
    "support_organization_new",
    "support_organization_none",
]


# -- billing -----------------------------------------------------------------------------------


def billing_customer_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new deal's billing customer", "/customers", ACCOUNT,
                   OPPORTUNITY))  # fmt: skip


def billing_customer_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of an existing billing customer", "/customers", ACCOUNT,
                 OPPORTUNITY, [BILLING_CUSTOMER_STATE]),
          {"id": match.str(BILLING_CUSTOMER)})  # fmt: skip


def billing_customer_new(pact: Pact) -> None:
    i = call(pact, "the creation of a billing customer", "POST", "/customers", corr=OPPORTUNITY,
             step="billing-customer",
             body={"name": match.str("Acme Corp"), "crm_account_id": match.str(ACCOUNT),
                   "currency": CUR,
                   "email": match.regex("billing@acme.example.com", regex=r"^\S+@\S+$"),
                   "payment_method": match.regex("4242424242424242", regex=r"^\d{12,19}$"),
                   "external_id": match.str(ACCOUNT)})  # fmt: skip
    created(i, {"id": match.str(BILLING_CUSTOMER), "external_id": match.str(ACCOUNT)})


_SUBSCRIPTION = {"id": match.str(SUBSCRIPTION), "external_id": match.str(OPPORTUNITY),
                 "start_date": match.regex(START, regex=DATE)}  # fmt: skip


def billing_subscription_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new deal's subscription", "/subscriptions", OPPORTUNITY,
                   OPPORTUNITY))  # fmt: skip


def billing_subscription_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of the deal's subscription", "/subscriptions", OPPORTUNITY,
                 OPPORTUNITY, [SUBSCRIPTION_STATE]), _SUBSCRIPTION)  # fmt: skip


def billing_subscription_read(pact: Pact) -> None:
    i = call(pact, "a request for an invoice's subscription", "GET",
             f"/subscriptions/{SUBSCRIPTION}", states=[SUBSCRIPTION_STATE])  # fmt: skip
    created(i, {"id": match.str(SUBSCRIPTION), "external_id": match.str(OPPORTUNITY)}, 200)


def billing_subscription_new(pact: Pact) -> None:
    i = call(pact, "the creation of a deal's subscription", "POST", "/subscriptions",
             states=[BILLING_CUSTOMER_STATE], corr=OPPORTUNITY, step="billing-subscription",
             body={"customer_id": BILLING_CUSTOMER, "currency": CUR,
                   "quote_id": match.str(QUOTE), "term_months": match.int(12),
                   "items": match.each_like({"sku": match.str("PLAT-STD"),
                                             "quantity": match.int(10),
                                             "unit_amount_minor": match.int(10_000),
                                             "usage_based": match.bool(False)}),
                   "external_id": match.str(OPPORTUNITY)})  # fmt: skip
    created(i, _SUBSCRIPTION)


# -- support -----------------------------------------------------------------------------------


def support_organization_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new deal's organization", "/organizations", ACCOUNT,
                   OPPORTUNITY))  # fmt: skip


def support_organization_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of an existing organization", "/organizations", ACCOUNT,
                 OPPORTUNITY, [ORG_STATE]), {"id": match.str(ORGANIZATION)})  # fmt: skip


def support_organization_new(pact: Pact) -> None:
    i = call(pact, "the creation of an organization", "POST", "/organizations",
             corr=OPPORTUNITY, step="support-organization",
             body={"name": match.str("Acme Corp"), "crm_account_id": match.str(ACCOUNT),
                   "domain": match.str("acme.example.com"),
                   "external_id": match.str(ACCOUNT)})  # fmt: skip
    created(i, {"id": match.str(ORGANIZATION), "external_id": match.str(ACCOUNT)})


_ENTITLEMENT = {"id": match.str(ENTITLEMENT), "status": is_("active"),
                "end_date": match.regex(END, regex=DATE)}  # fmt: skip


def support_entitlement_none(pact: Pact) -> None:
    nothing(lookup(pact, "a lookup of a new subscription's entitlement", "/entitlements",
                   SUBSCRIPTION, OPPORTUNITY))  # fmt: skip


def support_entitlement_found(pact: Pact) -> None:
    found(lookup(pact, "a lookup of a subscription's active entitlement", "/entitlements",
                 SUBSCRIPTION, OPPORTUNITY, [ENTITLEMENT_STATE]), _ENTITLEMENT)  # fmt: skip


def support_entitlement_new(pact: Pact) -> None:
    i = call(pact, "the creation of a subscription's entitlement", "POST", "/entitlements",
             states=[ORG_STATE], corr=OPPORTUNITY, step="support-entitlement",
             body={"organization_id": ORGANIZATION, "subscription_id": match.str(SUBSCRIPTION),
                   "sku": match.str("PLAT-STD"),
                   "support_tier": match.regex("standard", regex="^(standard|premium|enterprise)$"),
                   "status": is_("active"), "start_date": match.regex(START, regex=DATE),
                   "end_date": match.regex(END, regex=DATE),
                   "external_id": match.str(SUBSCRIPTION)})  # fmt: skip
    created(i, {"id": match.str(ENTITLEMENT), "external_id": match.str(SUBSCRIPTION)})


def support_entitlement_suspend(pact: Pact) -> None:
    i = call(pact, "the suspension of a canceled subscription's entitlement", "POST",
             f"/entitlements/{ENTITLEMENT}/suspend", states=[ENTITLEMENT_STATE],
             corr=OPPORTUNITY, step="suspend")  # fmt: skip
    created(i, {"id": match.str(ENTITLEMENT), "status": is_("suspended")}, 200)


def support_entitlement_extend(pact: Pact) -> None:
    i = call(pact, "the extension of a renewed subscription's entitlement", "PATCH",
             f"/entitlements/{ENTITLEMENT}", states=[ENTITLEMENT_STATE], corr=OPPORTUNITY,
             step="extend", body={"end_date": match.regex(RENEWED_END, regex=DATE)})  # fmt: skip
    created(i, {"id": match.str(ENTITLEMENT), "end_date": match.regex(RENEWED_END, regex=DATE)},
            200)  # fmt: skip
