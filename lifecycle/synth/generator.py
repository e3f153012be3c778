"""The public entry point: parameters in, a folder of files and a manifest out.

Generation streams: accounts are made family by family and written at once, so
memory stays flat whatever the account count. No wall-clock time reaches the output.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lifecycle.entities import ENTITY_TYPES, SYSTEM_TYPES
from lifecycle.ids import IdFactory
from lifecycle.synth._accounts import make_family
from lifecycle.synth._catalog import build_catalog
from lifecycle.synth._events import EventSpool
from lifecycle.synth._lifecycle import run_account
from lifecycle.synth._output import FORMATS, ObjectFiles
from lifecycle.synth._pools import build_pools
from lifecycle.synth._schema import table_schema
from lifecycle.synth._time import US_PER_DAY, add_months, ts, us_of_date
from lifecycle.synth._world import World

__all__ = ["GENERATOR_VERSION", "MANIFEST", "SynthParams", "generate"]

GENERATOR_VERSION = "1.0.0"
MANIFEST = "manifest.json"
EVENTS_FILE = "events.ndjson"
# The simulators take dates 2000-01-01 .. 2100-12-31 in request bodies (and ERP periods
# 2000-01 .. 2100-12). The catalog is made a month before the window; terms of up to 36
# months (and quotes valid 60 days) run past as_of: four years of room keeps them inside.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
LATEST_AS_OF = date(2096, 12, 31)
_log = logging.getLogger(__name__)
_SYSTEM_OF = {t: s for s, types in SYSTEM_TYPES.items() for t in types}
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True)
class SynthParams:
    """What to generate. ``as_of`` is the generated world's "now"; history spans ``years``."""

    accounts: int
    seed: int = 0
    years: int = 3
    locales: tuple[str, ...] = ("en_US",)
    as_of: str = "2026-11-01"
    fmt: str = "ndjson"
    events: bool = False
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> date:
        """Validate; returns ``as_of`` as a date. Raises ValueError naming the bad parameter."""
        if self.accounts < 1:
            raise ValueError("accounts must be at least 1")
        if not 1 <= self.years <= 20:
            raise ValueError("years must be between 1 and 20")
        if self.fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        for name in ("duplicate_rate", "reorder_rate"):
            if not 0.0 <= getattr(self, name) <= 0.5:
                raise ValueError(f"{name} must be between 0 and 0.5")
        try:
            as_of = date.fromisoformat(self.as_of)
        except ValueError:
            raise ValueError(f"as_of must be a date YYYY-MM-DD, not {self.as_of!r}") from None
        earliest = add_months(date(2000, 2, 1), 12 * self.years)
        if not earliest <= as_of <= LATEST_AS_OF:
            raise ValueError(
                f"as_of {as_of} is out of range: with {self.years} year(s) of history it must "
                f"lie between {earliest} and {LATEST_AS_OF}, so that every generated date "
                f"falls within the simulators' {EARLIEST_DATE} .. {LATEST_DATE}"
            )
        return as_of


def _flush(w: World, files: ObjectFiles, spool: EventSpool | None) -> int:
    written = len(w.objects)
    for object_type, obj in w.objects:
        files.write(object_type, obj)
    w.objects.clear()
    if spool is not None:
        for at, system, event_type, obj, changes in w.events:
            data = {**obj, **changes} if changes else obj
            body = _encode({"type": event_type, "system": system, "occurred_at": ts(at),
                            "correlation_id": obj.get("correlation_id"), "data": data})  # fmt: skip
            spool.add(at, system, body)
    w.events.clear()
    return written


def generate(
    params: SynthParams, out: Path, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Write every object type of the five systems for ``params.accounts`` accounts into ``out``.

    ``progress(accounts_done, records_written)`` is called now and then. Returns the
    manifest, also written to ``out/manifest.json``.
    """
    as_of = params.check()
    out.mkdir(parents=True, exist_ok=True)
    as_of_us = us_of_date(as_of)
    start_us = us_of_date(add_months(as_of, -12 * params.years))
    ids = IdFactory(params.seed)
    catalog = build_catalog(ids, start_us, as_of_us)
    pools = build_pools(params.seed, list(params.locales))
    rng = random.Random(f"world:{params.seed}")
    w = World(rng, ids, pools, catalog, start_us, as_of_us, params.events)
    files = ObjectFiles(out, params.fmt)
    spool = EventSpool(out) if params.events else None
    records = 0
    try:
        _catalog_objects(w, start_us)
        records += _flush(w, files, spool)
        done = 0
        while done < params.accounts:
            family = make_family(w, params.accounts - done)
            for acct in family:
                run_account(w, acct)
            done += len(family)
            records += _flush(w, files, spool)
            if progress is not None:
                progress(done, records)
        file_info = files.close()
        manifest_files = {info["file"]: info for info in file_info.values()}
        counts = {t: info["records"] for t, info in file_info.items()}
        if spool is not None:
            ev = spool.write(out / EVENTS_FILE, params.seed, params.duplicate_rate,
                             params.reorder_rate)  # fmt: skip
            manifest_files[EVENTS_FILE] = {"file": EVENTS_FILE, **ev}
            counts["event"] = int(ev["records"])
    finally:
        if spool is not None:
            spool.close()
    manifest = {
        "generator": "lifecycle.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": params.seed,
        "parameters": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(params).items()
            if k != "extra"
        }
        | params.extra,
        "format": params.fmt,
        "window": {
            "from": add_months(as_of, -12 * params.years).isoformat(),
            "as_of": as_of.isoformat(),
        },
        "counts": counts,
        "total_records": sum(v for k, v in counts.items() if k != "event"),
        "files": manifest_files,
        "schemas": {t: table_schema(model) for t, model in ENTITY_TYPES.items()},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", "utf-8")
    _log.info("generated %d records for %d accounts in %s", manifest["total_records"],
              params.accounts, out)  # fmt: skip
    return manifest


def _catalog_objects(w: World, start_us: int) -> None:
    at = start_us - 30 * US_PER_DAY
    c = w.catalog
    for object_type, objs in (("product", c.products), ("price_book", list(c.price_books.values())),
                              ("item", c.items), ("accounting_period", c.periods)):  # fmt: skip
        for obj in objs:
            w.objects.append((object_type, obj))
            system = _SYSTEM_OF[object_type]
            kind = {"product": "product.created", "price_book": "price_book.created",
                    "item": "item.created"}.get(object_type)  # fmt: skip
            if kind:
                w.event(at, system, kind, obj)
    for period in c.periods:
        if period["closed_at"]:
            w.event(_parse(period["closed_at"]), "erp", "period.closed", period)


def _parse(stamp: str) -> int:
    d = date.fromisoformat(stamp[:10])
    h, m, s = int(stamp[11:13]), int(stamp[14:16]), int(stamp[17:19])
    return us_of_date(d) + ((h * 60 + m) * 60 + s) * 1_000_000
