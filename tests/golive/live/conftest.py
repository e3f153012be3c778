"""The estate the live-run tests share: started once per module, emptied by each run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.estate import Estate, running_estate


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    """One estate for the module; each run empties it first and attaches to it."""
    with running_estate(seed=5) as running:
        yield running
