"""``python -m examples.reference_middleware [--port P] [--state-dir DIR]``."""

from __future__ import annotations

import sys

from examples.run import main

if __name__ == "__main__":
    sys.exit(main("reference"))
