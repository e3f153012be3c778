"""The naive middleware's app: every flow runs inside the webhook request (wrong on purpose).

See the package docstring for the list of defects; docs/sut-contract.md for what a
correct SUT does instead.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from examples.reference_middleware.settings import Settings

__all__ = ["create_app"]

log = logging.getLogger("naive_middleware")


class _Api:
    """Signs in once per call (no token cache), no retries, no keys."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        # Made once: building a TLS context costs ~80 ms of CPU, and the client per call
        # below is naive enough without it.
        self._tls = httpx.create_ssl_context()

    async def __call__(self, system: str, method: str, path: str, body: Any = None,
                       **params: Any) -> Any:  # fmt: skip
        base = self.s.urls[system]
        async with httpx.AsyncClient(timeout=self.s.http_timeout_s, verify=self._tls) as http:
            token = await http.post(f"{base}/oauth/token", data={
                "grant_type": "client_credentials", "client_id": self.s.client_id,
                "client_secret": self.s.client_secret})  # fmt: skip
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            response = await http.request(method, base + path, json=body, params=params or None,
                                          headers=headers)  # fmt: skip
            response.raise_for_status()
            return response.json()


async def _closed_won(api: _Api, opp: dict[str, Any]) -> None:
    quote = await api("cpq", "GET", f"/quotes/{opp['primary_quote_id']}")
    account = await api("crm", "GET", f"/accounts/{opp['account_id']}")
    acct, cur, term = account["id"], quote["currency"], quote["term_months"]
    base = {"name": account["name"], "crm_account_id": acct}
    erp_customer = await api(
        "erp",
        "POST",
        "/customers",
        {**base, "currency": cur, "legal_entity": f"{account.get('country', 'US')}01"},
    )
    bps = quote.get("discount_bps", 0)
    amounts = [(ln, ln["net_minor"] * (10_000 - bps) // 10_000) for ln in quote["lines"]]
    lines = [{"sku": ln["sku"], "quantity": ln["quantity"],
              "unit_price_minor": a // max(ln["quantity"], 1)} for ln, a in amounts]  # fmt: skip
    await api("erp", "POST", "/sales-orders", {
        "customer_id": erp_customer["id"], "opportunity_id": opp["id"], "quote_id": quote["id"],
        "lines": lines})  # fmt: skip
    customer = await api("billing", "POST", "/customers", {
        **base, "currency": cur, "email": f"billing@{acct.lower()}.example.com",
        "payment_method": "4242424242424242"})  # fmt: skip
    sub = await api("billing", "POST", "/subscriptions", {
        "customer_id": customer["id"], "quote_id": quote["id"], "term_months": term,
        "items": [{"sku": ln["sku"], "quantity": ln["quantity"],
                   "unit_amount_minor": a // (max(ln["quantity"], 1) * term),
                   "usage_based": ln["billing_type"] == "usage"}
                  for ln, a in amounts if ln["billing_type"] != "one_time"]})  # fmt: skip
    org = await api("support", "POST", "/organizations", base)  # 409 for a known name
    await api("support", "POST", "/entitlements", {
        "organization_id": org["id"], "subscription_id": sub["id"],
        "sku": quote["lines"][0]["sku"], "status": "active"})  # fmt: skip


async def _invoice(api: _Api, inv: dict[str, Any]) -> None:
    sub = await api("billing", "GET", f"/subscriptions/{inv['subscription_id']}")
    orders = await api("erp", "GET", "/sales-orders", quote_id=sub["quote_id"])
    if not orders["data"]:
        log.warning("no order for invoice %s: skipped", inv["id"])  # dropped for good
        return
    order = orders["data"][0]
    await api("erp", "POST", "/invoices", {
        "customer_id": order["customer_id"], "sales_order_id": order["id"],
        "external_id": inv["id"],  # the only field that can name the billing invoice
        "subtotal_minor": inv["subtotal_minor"], "tax_minor": inv["tax_minor"]})  # fmt: skip


async def _payment(api: _Api, pay: dict[str, Any]) -> None:
    ars = await api("erp", "GET", "/invoices", external_id=pay["invoice_id"])
    if not ars["data"]:
        log.warning("no AR invoice for payment %s: skipped", pay["id"])  # dropped for good
        return
    ar, amount = ars["data"][0], pay["amount_minor"]
    await api("erp", "POST", "/receipts", {
        "customer_id": ar["customer_id"], "amount_minor": amount, "external_id": pay["id"],
        "applications": [{"ar_invoice_id": ar["id"], "amount_minor": amount}]})  # fmt: skip


_FLOWS = {"opportunity.closed_won": _closed_won, "invoice.finalized": _invoice,
          "payment.succeeded": _payment}  # fmt: skip


def create_app(settings: Settings) -> Starlette:
    verifier, api = Webhook(settings.webhook_secret), _Api(settings)

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verifier.verify(body, dict(request.headers))
        except WebhookVerificationError:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        event = json.loads(body)
        flow = _FLOWS.get(event["type"])
        if flow is not None:
            try:
                await flow(api, event["data"])
            except httpx.HTTPError as exc:  # half done; the simulator will send it again
                log.warning("%s failed: %s", event["id"], exc)
                return JSONResponse({"error": str(exc)}, status_code=500)
        return JSONResponse({"received": event["id"]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/webhooks/{system}", webhook, methods=["POST"]),
                             Route("/health", health)])  # fmt: skip
