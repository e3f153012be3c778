"""Billing simulator (Stripe/Zuora-like): customers, subscriptions, usage, invoices, payments."""
