"""The ceiling of Python ASGI on one core here: a bare Starlette app for benchmarks/simulators.py.

docs/benchmarks.md compares every simulator number with this app on the same server stack
(uvicorn, uvloop, httptools, no access log, lifespan off: the flags of
``simulators.serve``), returning a JSON body of the same size as the simulator's.

    python benchmarks/baseline_app.py --port 18200 --body-bytes 305

``GET /accounts/{account_id}`` returns the body; ``POST /accounts`` reads and parses
the JSON request and returns the body with 201. Nothing else: no auth, no store.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["build_app", "payload_of_size"]


def payload_of_size(size: int) -> dict[str, Any]:
    """A JSON object whose compact ``json.dumps`` is exactly ``size`` bytes (or its minimum)."""
    payload: dict[str, Any] = {"id": "acc_0000000000000000", "version": 1, "pad": ""}
    base = len(json.dumps(payload, separators=(",", ":")))
    payload["pad"] = "x" * max(0, size - base)
    return payload


def build_app(body_bytes: int) -> Starlette:
    payload = payload_of_size(body_bytes)

    async def get_account(request: Request) -> JSONResponse:
        return JSONResponse({**payload, "id": request.path_params["account_id"][:20]})

    async def create_account(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(payload, status_code=201)

    return Starlette(
        routes=[
            Route("/accounts/{account_id}", get_account, methods=["GET"]),
            Route("/accounts", create_account, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body-bytes", type=int, default=305)
    args = parser.parse_args(argv)

    import uvicorn

    # The same uvicorn.run arguments as simulators.serve.serve(), on purpose.
    uvicorn.run(
        build_app(args.body_bytes),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
