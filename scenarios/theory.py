"""Queueing theory the model is checked against (and that ``calibrate`` can use).

Erlang C for an M/M/c queue, and Little's law; pure Python, no SciPy.
"""

from __future__ import annotations

import math

__all__ = ["erlang_c", "littles_law_gap", "mmc_mean_wait_s"]


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue (``offered_load`` = λ/μ)."""
    if offered_load >= servers:
        return 1.0
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    top = term * offered_load / servers / (1.0 - offered_load / servers)
    return top / (total + top)


def mmc_mean_wait_s(arrival_rate_per_s: float, service_rate_per_s: float, servers: int) -> float:
    """Mean time in queue (before service) of an M/M/c queue; ``inf`` when unstable."""
    a = arrival_rate_per_s / service_rate_per_s
    if a >= servers:
        return math.inf
    return erlang_c(servers, a) / (servers * service_rate_per_s - arrival_rate_per_s)


def littles_law_gap(mean_in_system: float, throughput_per_s: float, mean_sojourn_s: float) -> float:
    """Relative gap between L and λW (0 when Little's law holds exactly)."""
    lam_w = throughput_per_s * mean_sojourn_s
    return abs(mean_in_system - lam_w) / max(lam_w, 1e-12)
