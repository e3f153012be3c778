"""The Pact core reports anonymous usage over the network unless told not to."""

from __future__ import annotations

import os

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
