"""The reference quote-to-cash middleware: a correct integration to learn from and copy.

It follows the SUT contract (docs/sut-contract.md): configured only by ``GOLIVE_*``
variables, it receives signed webhooks at ``/webhooks/<system>`` and calls the five
systems' APIs. Where each good practice lives:

| module | pattern |
|---|---|
| ``settings`` | configuration from the environment only |
| ``app`` | signature verification (standardwebhooks), dedupe, answer 2xx fast, /status |
| ``store`` | SQLite inbox (WAL): dedupe that survives a restart, parking, dead letters |
| ``worker`` | bounded concurrency: a fixed worker pool; what a failure does to a job |
| ``clients`` | token cache, Idempotency-Keys, X-Correlation-Id, upsert by external id |
| ``resilience`` | failure classes, tenacity backoff honouring Retry-After, circuit breaker |
| ``flows`` | the business flows and the links the oracle checks |

Run it: ``golive sut reference --register`` or ``python -m examples.reference_middleware``.
"""

from __future__ import annotations

from examples.reference_middleware.app import create_app
from examples.reference_middleware.flows import EVENTS
from examples.reference_middleware.settings import ConfigError, Settings

__all__ = ["EVENTS", "ConfigError", "Settings", "create_app"]
