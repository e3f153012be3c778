"""A faster route for the simulators' plain endpoints, behind FastAPI's own extension point.

Most simulator endpoints take string path parameters, at most one JSON body model and
perhaps If-Match, and return a ready Response. For those, FastAPI's general request
handler (dependency solving, a spare Response for injection, a content-type parse
through ``email.message``) costs more than the endpoint itself. ``SimRoute`` handles
that common case directly (``model_validate_json`` on the body) and hands anything
unusual (another content type, a body that does not validate) to FastAPI's handler,
so errors and edge cases behave exactly as FastAPI defines them. The OpenAPI document
is unchanged: it is built from the same route.

A query parameter the route does not declare is refused (400 ``unknown_parameter``,
as Stripe does) on every business route: an unsupported filter silently ignored
would return the whole list to a caller looking one object up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from simulators.kit.context import EXECUTING
from simulators.kit.errors import SimError
from simulators.kit.middleware import PUBLIC_PREFIXES

__all__ = ["SimRoute", "UnknownParameter"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' included."""
    names = {f.alias for f in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def _stacked(fastapis: Handler, request: Request) -> Response:
    """FastAPI's handler inside the exit stacks its request wrapper would have opened."""
    scope = request.scope
    async with AsyncExitStack() as request_stack:
        scope["fastapi_inner_astack"] = request_stack
        async with AsyncExitStack() as function_stack:
            scope["fastapi_function_astack"] = function_stack
            return await fastapis(request)


class UnknownParameter(SimError):
    """400 ``unknown_parameter``: a query parameter the endpoint does not take."""

    def __init__(self, name: str, known: frozenset[str]) -> None:
        takes = ", ".join(sorted(known)) if known else "no query parameters"
        super().__init__(
            "unknown_parameter",
            f"unknown query parameter {name!r}; this endpoint takes {takes}",
            [{"field": f"query.{name}", "message": "not a parameter of this endpoint"}],
        )


def _lean_app(handler: Handler) -> ASGIApp:
    """The ASGI app of a plain route: its handler, then its response.

    FastAPI's own wrapper opens two exit stacks for dependencies with ``yield`` (a
    plain route has none) and catches exceptions to run the exception handlers, which
    the app's ExceptionMiddleware just outside the router does the same way.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


class SimRoute(APIRoute):
    """APIRoute whose plain endpoints skip FastAPI's general request handler."""

    _plain: Handler | None = None
    _is_plain = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        # The path up to its first parameter: every path this route matches starts so.
        self._head = self.path.split("{", 1)[0]
        if self._plain is not None and self.max_body_size is None:
            self.app = _lean_app(self._plain)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The router tries every route in turn; a path that does not start with this
        # route's literal head cannot match its pattern, and is answered here without
        # the general matching (a third of a request's routing time otherwise). Routes
        # seen through an included router (a FastAPI scope entry) match as FastAPI does.
        if scope["type"] == "http":
            fastapi_scope = scope.get("fastapi")
            if fastapi_scope is None:
                path = get_route_path(scope) if scope.get("root_path") else scope["path"]
                if not path.startswith(self._head):
                    return Match.NONE, {}
            elif not fastapi_scope.get("effective_route_context") and not get_route_path(
                scope
            ).startswith(self._head):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Handler:
        fastapis = super().get_route_handler()
        handler = self._fast_handler(fastapis)
        if self.path.startswith(PUBLIC_PREFIXES):
            checked = handler
        else:
            known = _query_names(self.dependant)

            async def checked(request: Request) -> Response:
                if request.scope.get("query_string"):
                    for name in request.query_params:
                        if name not in known:
                            raise UnknownParameter(name, known)
                return await handler(request)

        self._plain = checked if self._is_plain else None
        return checked

    def _fast_handler(self, fastapis: Handler) -> Handler:
        async def general(request: Request) -> Response:
            # FastAPI validates, then runs the endpoint: anything but its own refusals
            # means the endpoint ran (the Idempotency-Key result is then saved).
            try:
                if "fastapi_inner_astack" in request.scope:
                    response = await fastapis(request)
                else:  # a plain route's lean app (_lean_app) has not made FastAPI's stacks
                    response = await _stacked(fastapis, request)
            except HTTPException as exc:
                if isinstance(exc.__cause__, ClientDisconnect):
                    # FastAPI words a client gone mid-body as a 400 it can no longer
                    # send; the middleware records it as what it is (499).
                    raise exc.__cause__ from None
                raise
            except RequestValidationError:
                raise
            except Exception:
                request.scope[EXECUTING] = True
                raise
            request.scope[EXECUTING] = True
            return response

        plan = self._plan()
        self._is_plain = plan is not None
        if plan is None:
            return general
        endpoint, path_names, header_names, body = plan

        async def handler(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            if body is not None:
                name, model = body
                content_type = request.headers.get("content-type", "")
                if not content_type.startswith("application/json"):
                    return await general(request)
                try:
                    kwargs[name] = model.model_validate_json(await request.body())
                except ValidationError:
                    return await general(request)  # FastAPI words the 422
            params = request.path_params
            for name, alias in path_names:
                kwargs[name] = params[alias]
            headers = request.headers
            for name, alias in header_names:
                kwargs[name] = headers.get(alias)
            request.scope[EXECUTING] = True
            response: Response = await endpoint(**kwargs)
            return response

        return handler

    def _plan(
        self,
    ) -> (
        tuple[
            Callable[..., Any],
            list[tuple[str, str]],
            list[tuple[str, str]],
            tuple[str, type[BaseModel]] | None,
        ]
        | None
    ):
        """What the fast path needs, or None when the endpoint is not a plain one."""
        d = self.dependant
        if (
            d.call is None
            or not inspect.iscoroutinefunction(d.call)
            or d.query_params
            or d.cookie_params
            or d.dependencies
            or d.request_param_name
            or d.websocket_param_name
            or d.response_param_name
            or d.background_tasks_param_name
            or d.security_scopes_param_name
            or len(d.body_params) > 1
            or self._embed_body_fields
        ):
            return None
        # Only endpoints that return a ready Response: anything else needs FastAPI's
        # serialisation, and the fast path must never run an endpoint twice.
        returns = get_typed_return_annotation(d.call)
        if not (isinstance(returns, type) and issubclass(returns, Response)):
            return None
        for field in d.path_params:
            if field.field_info.annotation is not str or field.field_info.metadata:
                return None
        for field in d.header_params:
            if field.field_info.annotation != (str | None) or field.field_info.metadata:
                return None
        body: tuple[str, type[BaseModel]] | None = None
        if d.body_params:
            field = d.body_params[0]
            model = field.field_info.annotation
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                return None
            body = (field.name, model)
        return (
            d.call,
            [(f.name, f.alias) for f in d.path_params],
            [(f.name, f.alias) for f in d.header_params],
            body,
        )
