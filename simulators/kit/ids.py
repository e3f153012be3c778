"""A simulator's id stream: prefixed ids from a seeded, numbered sequence.

Each id is a function of the seed and its position, so the position is the whole
state of the stream: a rolled-back transaction puts it back (``kit/uow.py``) and a
durable store saves one integer. Ids look random (64 mixed bits, as Stripe's do)
and never repeat within a stream.
"""

from __future__ import annotations

from lifecycle.ids import PREFIXES
from simulators.kit.uow import current_unit

__all__ = ["IdSequence"]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # SplitMix64's increment (odd: every position is distinct)


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a bijection on 64 bits that scatters neighbouring inputs."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


class IdSequence:
    """Makes ids ``<prefix>_<16 hex digits>``; ``position`` counts the ids drawn."""

    __slots__ = ("_base", "position")

    def __init__(self, seed: int = 0) -> None:
        # Salted so a simulator's stream differs from the data generator's with the same seed.
        self._base = _mix((seed ^ 0x5349_4D55_4C41_544F) & _MASK)
        self.position = 0

    def new(self, object_type: str) -> str:
        unit = current_unit()
        if unit is not None:
            unit.drawing_id()
        self.position = position = self.position + 1
        # _mix, inlined: this runs for every object created.
        x = (self._base + position * _GOLDEN) & _MASK
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
        return f"{PREFIXES[object_type]}_{x ^ (x >> 31):016x}"

    def reset(self) -> None:
        unit = current_unit()
        if unit is not None:
            unit.drawing_id()
        self.position = 0
