"""JSON error bodies of the /v1 API: ``{"error": {"message": ..., "fields": [...]}}``."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("items", 0, "title")`` -> ``items[0].title``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def error_response(status: int, message: str, fields: list[dict[str, str]] | None = None) -> web.Response:
    error: dict[str, Any] = {"message": message}
    if fields:
        error["fields"] = fields
    return web.json_response({"error": error}, status=status)


def validation_fields(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> list[dict[str, str]]:
    return [
        {"field": field_path((*prefix, *err["loc"])), "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]
