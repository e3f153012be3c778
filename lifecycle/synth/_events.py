"""The generated lifecycle as the event stream the simulators would emit, in time order.

Accounts are generated one by one, so their events arrive out of time order: they are
spooled in sorted chunks and merged (an external sort: memory stays flat), then given
per-system ids (``lifecycle.events.event_id``) and, on request, duplicated and reordered.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lifecycle.events import event_id

__all__ = ["EventSpool"]

_CHUNK_EVENTS = 40_000
_HOLD_MAX = 5  # a held-back or repeated event comes out at most this many events later


class EventSpool:
    """Collects ``(instant, system, envelope without id)`` and writes ``events.ndjson``."""

    def __init__(self, workdir: Path) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=".events-", dir=workdir)
        self._chunks: list[Path] = []
        self._buffer: list[str] = []
        self._seq = 0

    def add(self, at_us: int, system: str, body: str) -> None:
        """``body`` is the envelope's JSON without ``id``, starting with ``{"type":``."""
        self._seq += 1
        self._buffer.append(f"{at_us:020d} {self._seq:012d} {system} {body}\n")
        if len(self._buffer) >= _CHUNK_EVENTS:
            self._spill()

    def _spill(self) -> None:
        if not self._buffer:
            return
        self._buffer.sort()
        path = Path(self._tmp.name) / f"chunk-{len(self._chunks):05d}"
        path.write_text("".join(self._buffer), encoding="utf-8")
        self._chunks.append(path)
        self._buffer.clear()

    def _merged(self) -> Iterator[str]:
        self._spill()
        files = [p.open(encoding="utf-8") for p in self._chunks]
        try:
            yield from heapq.merge(*files)
        finally:
            for f in files:
                f.close()

    def write(
        self, path: Path, seed: int, duplicate_rate: float, reorder_rate: float
    ) -> dict[str, int | str]:
        """Write the stream; returns records (lines, duplicates included), bytes, sha256."""
        rng = random.Random(f"events:{seed}")
        digest = hashlib.sha256()
        counters: dict[str, int] = {}
        held: list[tuple[int, int, str]] = []  # (release position, tie-break, line)
        position = lines = size = 0
        with path.open("wb") as out:

            def emit(line: str) -> None:
                nonlocal lines, size
                data = line.encode("utf-8")
                digest.update(data)
                out.write(data)
                lines += 1
                size += len(data)

            for raw in self._merged():
                _, _, system, body = raw.split(" ", 3)
                n = counters.get(system, 0) + 1
                counters[system] = n
                line = '{"id":"' + event_id(system, n) + '",' + body[1:]
                position += 1
                if reorder_rate and rng.random() < reorder_rate:
                    held.append((position + rng.randint(1, _HOLD_MAX), position, line))
                else:
                    emit(line)
                if duplicate_rate and rng.random() < duplicate_rate:
                    held.append((position + rng.randint(0, _HOLD_MAX), position, line))
                held.sort()
                while held and held[0][0] <= position:
                    emit(held.pop(0)[2])
            for _, _, line in sorted(held):
                emit(line)
        self._tmp.cleanup()
        return {"records": lines, "bytes": size, "sha256": digest.hexdigest()}

    def close(self) -> None:
        self._tmp.cleanup()
