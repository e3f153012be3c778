"""``python -m examples.reference_middleware [--port P] [--state-dir DIR]``."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import uvicorn

from examples.reference_middleware import ConfigError, Settings, create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.reference_middleware",
        description="The reference quote-to-cash middleware (GOLIVE_* variables configure it).",
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default GOLIVE_SUT_PORT)")
    parser.add_argument("--state-dir", type=Path, help="folder of its SQLite files")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.port is not None:
        settings = replace(settings, port=args.port)
    if args.state_dir is not None:
        settings = replace(settings, state_dir=args.state_dir)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(f"reference middleware on http://127.0.0.1:{settings.port}", flush=True)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
