"""Support simulator: organizations, entitlements and cases with SLA timers."""
