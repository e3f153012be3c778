"""CPU time of processes and cores over a window of wall-clock time, for the benchmarks.

A thread reads ``/proc/<pid>/stat`` (user + system time, in clock ticks) and the busy
time of chosen cores from ``/proc/stat`` every ``interval_s``; ``between(t0, t1)``
interpolates each one's CPU seconds at two ``time.time()`` instants, e.g. the start and
the end of Locust's measured window. A core's busy time less the processes pinned to it
is what others ran there: on a shared machine, the noise. Off Linux (no ``/proc``) it
records nothing and says so with ``None``.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["CpuSampler", "core_busy_seconds", "cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (its threads included); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def core_busy_seconds(core: int) -> float | None:
    """Seconds core ``core`` has spent busy (not idle, not waiting on I/O) since boot."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"cpu{core} "):
            ticks = [int(x) for x in line.split()[1:]]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
            steal = ticks[7] if len(ticks) > 7 else 0  # time the hypervisor ran others
            return (sum(ticks[:8]) - idle - steal) / _TICKS
    return None


class CpuSampler:
    """Samples CPU seconds of named processes and cores in a background thread while entered.

    ``pids`` names processes; ``cores`` names cores (``{"core 0": 0}``); a process started
    later joins with ``add``.
    """

    def __init__(
        self, pids: dict[str, int], cores: dict[str, int] | None = None, interval_s: float = 0.25
    ) -> None:
        self.pids = dict(pids)
        self.cores = dict(cores or {})
        self.interval_s = interval_s
        self._times: list[float] = []
        self._samples: list[dict[str, float | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, name: str, pid: int) -> None:
        """Sample process ``pid`` as ``name`` from now on."""
        self.pids[name] = pid

    def _sample(self) -> None:
        sample = {name: cpu_seconds(pid) for name, pid in list(self.pids.items())}
        sample |= {name: core_busy_seconds(core) for name, core in self.cores.items()}
        self._samples.append(sample)
        self._times.append(time.time())

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join(timeout=5)
        self._sample()

    def _at(self, name: str, when: float) -> float | None:
        i = bisect.bisect_left(self._times, when)
        if not self._times or i == 0 or i >= len(self._times):
            i = min(max(i, 0), len(self._times) - 1)
            return self._samples[i].get(name) if self._times else None
        t0, t1 = self._times[i - 1], self._times[i]
        c0, c1 = self._samples[i - 1].get(name), self._samples[i].get(name)
        if c0 is None or c1 is None:
            return c1 if c0 is None else c0  # a process that ended: its last reading
        return c0 + (c1 - c0) * (when - t0) / (t1 - t0) if t1 > t0 else c1

    def between(self, start: float, end: float) -> dict[str, float | None]:
        """CPU seconds each process and core spent between two ``time.time()`` instants."""
        out: dict[str, float | None] = {}
        for name in [*self.pids, *self.cores]:
            a, b = self._at(name, start), self._at(name, end)
            out[name] = None if a is None or b is None else round(max(0.0, b - a), 3)
        return out
