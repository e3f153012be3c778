"""The naive middleware: the same flows as the reference one, done wrong ON PURPOSE.

It is what a first integration often looks like, and what golive exists to catch:

- **no dedupe**: a redelivered webhook runs its flow again (a second order, a second
  subscription, a second entitlement);
- **no idempotency keys and no look-ups**: it creates without asking whether the object
  exists; customers, orders, subscriptions and entitlements carry only the link fields
  (``crm_account_id``, ``opportunity_id``, ``quote_id``, ``subscription_id``) and no
  ``external_id``, so the ERP's unique-external-id rule cannot stop a second order
  (AR invoices and receipts carry the billing invoice and payment ids as ``external_id``,
  the only field that can name them; a second one is refused and fails the request);
- **no retries**: a 429, a 503 or a lost response fails the whole flow half-way (the
  objects made before it stay, the rest never come unless the simulator redelivers,
  and then the first half is made twice);
- **no ordering tolerance**: an invoice whose order is not there yet is dropped;
- **work in the request**: the webhook answer waits for every call, so a slow ERP makes
  deliveries time out and be sent again.

It does verify signatures. Never copy it: read examples/reference_middleware instead.
"""

from __future__ import annotations

from examples.naive_middleware.app import create_app

__all__ = ["create_app"]
