"""A thin layer over aiohttp routes: each route declares its models once, for parsing and for OpenAPI.

``ApiRoutes`` is used like aiohttp's ``RouteTableDef``, with the request
body, query and response models named in the decorator. Handlers parse with
``body_of`` / ``query_of``, which turn every problem into an ``ApiError``
naming the field; the error middleware renders it as
``{"error": {"message": ..., "fields": [{"field": ..., "message": ...}]}}``.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        fields: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = list(fields)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.fields:
            error["fields"] = [{"field": f, "message": m} for f, m in self.fields]
        return {"error": error}


def field_path(loc: Sequence[int | str]) -> str:
    """pydantic's ``("webhook", "url")`` -> ``webhook.url``; ``("rules", 1)`` -> ``rules[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "body"


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


Relocate = Callable[[Sequence[int | str]], Sequence[int | str]]


def invalid(exc: ValidationError, *, prefix: str = "", relocate: Relocate | None = None) -> ApiError:
    """A 422 naming each field; ``relocate`` maps a model's error location to the written one."""
    fields = [
        (prefix + field_path(relocate(e["loc"]) if relocate else e["loc"]), _clean(e["msg"]))
        for e in exc.errors()
    ]
    return ApiError(422, "the request is not valid; see fields", fields)


async def body_of(request: web.Request, model: type[M], *, relocate: Relocate | None = None) -> M:
    if request.content_type != "application/json":
        raise ApiError(415, f"send JSON with Content-Type: application/json (got {request.content_type!r})")
    raw = await request.read()  # raises 413 past the app's client_max_size
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object", [("body", "expected an object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, relocate=relocate) from None


def query_of(request: web.Request, model: type[M]) -> M:
    """The query string as ``model``; a parameter it does not know is a 422, never silently ignored
    (a filter that is ignored returns everything, which looks like an answer)."""
    known = sorted(model.model_fields)
    unknown = [k for k in dict.fromkeys(request.query) if k not in model.model_fields]
    if unknown:
        fields = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            fields.append((f"query.{name[:64]}", f"unknown query parameter; {hint}"))
        raise ApiError(422, "the request is not valid; see fields", fields)
    try:
        return model.model_validate({k: request.query[k] for k in request.query})
    except ValidationError as exc:
        raise invalid(exc) from None


def json_of(value: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=value.model_dump_json(exclude_none=False), content_type="application/json"
    )


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    media_type: str = "application/json"
    public: bool = False  # never needs the token (health, the OpenAPI document)


class ApiRoutes:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        responses: Mapping[int, tuple[str, type[BaseModel] | None]],
        media_type: str = "application/json",
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method, path, handler, summary, self.tag, body, query, responses, media_type, public
                )
            )
            return handler

        return register

    def add_to(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, op.handler)
