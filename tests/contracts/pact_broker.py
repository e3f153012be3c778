"""A stand-in of the Pact Broker's documented HAL endpoints, for tests (no broker runs in CI).

What the Pact verifier's own broker support calls (watched on ``requests``): the
index ``GET /`` for the ``pb:provider-pacts-for-verification`` link, a ``GET`` of
that resource, then a ``POST`` to it with the consumer version selectors, pending
and WIP options; a ``GET`` of each selected pact; to publish, with a provider
branch, a ``PUT`` of the provider version on its branch (the pact's ``pb:provider``
link, then ``pb:branch-version``), and a ``POST`` of the results to the pact's
``pb:publish-verification-results`` link. Selection is simplified: a selector
matches on ``branch``, ``mainBranch`` (branch ``main``) and ``consumer``; no
selector selects every non-WIP pact; WIP pacts come only with
``includeWipPactsSince`` and are always pending, as the broker's docs say.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["BrokerPact", "BrokerStandIn"]

HAL = "application/hal+json"


@dataclass
class BrokerPact:
    consumer: str
    provider: str
    version: str
    content: dict[str, Any]
    branch: str = "main"
    pending: bool = False  # not yet verified successfully by the provider's main branch
    wip: bool = False  # selected only by includeWipPactsSince

    @property
    def sha(self) -> str:
        return hashlib.sha256(json.dumps(self.content, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class BrokerStandIn:
    pacts: list[BrokerPact] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # method, path, body
    selections: list[dict[str, Any]] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)  # with "consumer"
    branch_versions: list[tuple[str, str, str]] = field(default_factory=list)
    refuse_results: bool = False  # answer a publication with 400
    missing: set[str] = field(default_factory=set)  # consumers whose pact GET is 404

    def _base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _pact_path(self, p: BrokerPact) -> str:
        return f"/pacts/provider/{p.provider}/consumer/{p.consumer}/pact-version/{p.sha}"

    def _find(self, request: Request) -> BrokerPact | None:
        params = request.path_params
        return next(
            (
                p
                for p in self.pacts
                if (p.provider, p.consumer, p.sha)
                == (params["provider"], params["consumer"], params["sha"])
            ),
            None,
        )

    @staticmethod
    def _matches(selector: dict[str, Any], p: BrokerPact) -> bool:
        if "branch" in selector and selector["branch"] != p.branch:
            return False
        if selector.get("mainBranch") and p.branch != "main":
            return False
        return not ("consumer" in selector and selector["consumer"] != p.consumer)

    async def index(self, request: Request) -> Response:
        base = self._base(request)
        links = {
            "self": {"href": base},
            "pb:provider-pacts-for-verification": {
                "href": f"{base}/pacts/provider/{{provider}}/for-verification",
                "templated": True,
            },
        }
        return JSONResponse({"_links": links}, media_type=HAL)

    async def for_verification(self, request: Request) -> Response:
        if request.method == "GET":  # the verifier navigates to the resource, then POSTs
            title = "Pacts for verification"
            doc = {"_links": {"self": {"href": str(request.url), "title": title}}}
            return JSONResponse(doc, media_type=HAL)
        body = await request.json()
        self.selections.append(body)
        provider = request.path_params["provider"]
        selectors = body.get("consumerVersionSelectors") or []
        pending_on = bool(body.get("includePendingStatus"))
        chosen = []
        for p in self.pacts:
            if p.provider != provider:
                continue
            if p.wip:
                if body.get("includeWipPactsSince"):
                    chosen.append((p, True, True))
                continue
            if not selectors or any(self._matches(s, p) for s in selectors):
                chosen.append((p, p.pending and pending_on, False))
        base = self._base(request)
        pacts = [
            {
                "shortDescription": f"latest from {p.branch} of {p.consumer}",
                "verificationProperties": {
                    "pending": pending,
                    "wip": wip,
                    "notices": [
                        {
                            "when": "before_verification",
                            "text": f"The pact of {p.consumer} {p.version} is "
                            + ("pending" if pending else "not pending"),
                        }
                    ],
                },
                "_links": {"self": {"href": base + self._pact_path(p), "name": p.consumer}},
            }
            for p, pending, wip in chosen
        ]
        return JSONResponse(
            {"_embedded": {"pacts": pacts}, "_links": {"self": {"href": base}}}, media_type=HAL
        )

    async def pact(self, request: Request) -> Response:
        p = self._find(request)
        if p is None or p.consumer in self.missing:
            return JSONResponse({"error": "no such pact"}, status_code=404)
        base = self._base(request) + self._pact_path(p)
        links = {
            "self": {"href": base},
            "pb:provider": {"href": f"{self._base(request)}/pacticipants/{p.provider}"},
            "pb:publish-verification-results": {"href": f"{base}/verification-results"},
        }
        return JSONResponse({**p.content, "_links": links}, media_type=HAL)

    async def results(self, request: Request) -> Response:
        p = self._find(request)
        if p is None:
            return JSONResponse({"error": "no such pact"}, status_code=404)
        if self.refuse_results:
            return JSONResponse({"errors": {"providerApplicationVersion": ["refused"]}}, 400)
        body = await request.json()
        self.published.append({**body, "consumer": p.consumer})
        return JSONResponse(
            {"_links": {"self": {"href": str(request.url)}}}, status_code=201, media_type=HAL
        )

    async def pacticipant(self, request: Request) -> Response:
        here = str(request.url).rstrip("/")
        links = {
            "self": {"href": here},
            "pb:branch-version": {
                "href": here + "/branches/{branch}/versions/{version}",
                "templated": True,
            },
        }
        return JSONResponse({"name": request.path_params["name"], "_links": links}, media_type=HAL)

    async def branch_version(self, request: Request) -> Response:
        params = request.path_params
        self.branch_versions.append((params["name"], params["branch"], params["version"]))
        return JSONResponse({"_links": {"self": {"href": str(request.url)}}}, media_type=HAL)

    async def unknown(self, request: Request) -> Response:
        return JSONResponse({"error": "the stand-in does not serve this"}, status_code=404)

    def app(self) -> Any:
        pact = "/pacts/provider/{provider}/consumer/{consumer}/pact-version/{sha}"
        routes = [
            Route("/", self.index),
            Route(
                "/pacts/provider/{provider}/for-verification",
                self.for_verification,
                methods=["GET", "POST"],
            ),
            Route(pact, self.pact),
            Route(pact + "/verification-results", self.results, methods=["POST"]),
            Route("/pacticipants/{name}", self.pacticipant),
            Route(
                "/pacticipants/{name}/branches/{branch}/versions/{version}",
                self.branch_version,
                methods=["PUT"],
            ),
            Route("/{rest:path}", self.unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
        inner = Starlette(routes=routes)

        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.requests.append((scope["method"], scope["path"], None))
            await inner(scope, receive, send)

        return recording
