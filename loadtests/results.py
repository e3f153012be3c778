"""The final stats of a run, written for ``golive load`` (``GOLIVE_LOAD_RESULT``).

Locust's CSV lags up to a second behind; these are the exact final figures, with each
request type's response-time histogram, so golive computes percentiles as Locust does.
Importing this module registers the hooks (the master or the only process writes).
"""

from __future__ import annotations

import json
import os
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

__all__ = ["RESULT_ENV"]

RESULT_ENV = "GOLIVE_LOAD_RESULT"

_workers_seen: set[str] = set()


def _count_worker(client_id: str, data: dict[str, Any], **_kwargs: Any) -> None:
    _workers_seen.add(client_id)


def _write_results(environment: Environment, **_kwargs: Any) -> None:
    """Write the final stats (exact, unlike the CSV that lags a second) for ``golive load``."""
    path = os.environ.get(RESULT_ENV)
    if not path or isinstance(environment.runner, WorkerRunner) or environment.stats is None:
        return
    entries = [
        {"method": e.method, "name": e.name, "requests": e.num_requests,
         "failures": e.num_failures, "total_response_time_ms": e.total_response_time,
         "max_response_time_ms": e.max_response_time,
         "response_times": {str(k): v for k, v in e.response_times.items()}}
        for e in environment.stats.entries.values()
    ]  # fmt: skip
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in environment.stats.errors.values()
    ]
    total = environment.stats.total
    result = {
        "entries": entries,
        "errors": errors,
        "started_at": total.start_time,
        "last_request_at": total.last_request_timestamp,
        "workers_seen": sorted(_workers_seen),
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)


events.worker_report.add_listener(_count_worker)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_results)  # type: ignore[no-untyped-call]
