"""``python -m examples.naive_middleware [--port P]`` (wrong on purpose: see the package)."""

from __future__ import annotations

import sys

from examples.run import main

if __name__ == "__main__":
    sys.exit(main("naive"))
