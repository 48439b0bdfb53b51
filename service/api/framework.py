"""A thin layer over aiohttp routes: each route declares its models once, for parsing and for OpenAPI.

``ApiRoutes`` is used like aiohttp's ``RouteTableDef``, with the request
body, query and response models named in the decorator. Handlers parse with
``body_of`` / ``query_of``, which turn every problem into an ``ApiError``
naming the field; the error middleware renders it as
``{"error": {"message": ..., "fields": [{"field": ..., "message": ...}]}}``.

Every body is read by ``read_body`` (whole, up to a limit, whether or not a
Content-Length was sent) and parsed by ``parse_json``: what a client can send
ends as a 4xx, never as a 500.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from service.typedefs import SETTINGS

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


class ClientGone(Exception):
    """The client closed the connection before its body was in: there is nobody left to answer."""


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


def require_json(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise ApiError(415, f"send JSON with Content-Type: application/json (got {request.content_type!r})")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it passes ``limit`` bytes (with or without a Content-Length)."""
    too_large = ApiError(413, f"the body is larger than the limit of {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    try:
        # read() of a stream returns what has arrived, not the body: loop to its end
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ConnectionResetError as exc:
        raise ClientGone(str(exc)) from None
    except HttpProcessingError as exc:  # bad chunked encoding, a body shorter than its length
        raise ApiError(400, f"the body could not be read: {exc.message}") from None
    return bytes(body)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError(400, "the body is not valid JSON here: it is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}") from None
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not valid JSON: it is not UTF-8 text") from None
    except ValueError:  # an integer of thousands of digits, which Python refuses to convert
        raise ApiError(400, "the body is not valid JSON here: a number has too many digits") from None


async def body_of(
    request: web.Request, model: type[M], *, relocate: Relocate | None = None, limit: int | None = None
) -> M:
    """The JSON body as ``model``, read up to ``limit`` bytes (default: the API's body limit)."""
    require_json(request)
    data = parse_json(await read_body(request, max(limit or 0, request.app[SETTINGS].api_max_body_bytes)))
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
