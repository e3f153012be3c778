"""Fixtures and settings shared by golive's own tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# On a shared 2-core CI machine a timing deadline fails tests for the machine's sake;
# in CI the examples are also derandomized, so a red run can be replayed exactly.
settings.register_profile("golive", deadline=None)
settings.register_profile("golive-ci", deadline=None, derandomize=True)
settings.load_profile("golive-ci" if os.environ.get("CI") else "golive")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
