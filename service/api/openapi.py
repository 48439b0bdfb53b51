"""``GET /openapi.json``: an OpenAPI 3.1 document generated from the routes and their pydantic models.

Nothing is written by hand, so the document cannot drift from what the
handlers parse and return. Every operation also documents the JSON error
body as its ``default`` response (401, 403, 404, 413, 415, 422, 503...).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from service.api.framework import ApiRoutes, Operation
from service.api.schemas import ErrorBody
from service.typedefs import SETTINGS

REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)}")

routes = ApiRoutes("operations")


def _schema_ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop.pop("title", None)
            entry: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if "description" in prop:
                entry["description"] = prop["description"]
            params.append(entry)
    return params


def _responses(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, (description, model) in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": description}
        if model is not None:
            response["content"] = {"application/json": {"schema": _schema_ref(model)}}
        elif status != 204:
            response["content"] = {op.media_type: {"schema": {"type": "string"}}}
        out[str(status)] = response
    out["default"] = {
        "description": "an error, as JSON naming the fields at fault",
        "content": {"application/json": {"schema": _schema_ref(ErrorBody)}},
    }
    return out


def build(tables: list[ApiRoutes], *, auth_reads: bool) -> dict[str, Any]:
    ops = [op for table in tables for op in table.operations]
    models: set[type[BaseModel]] = {ErrorBody}
    for op in ops:
        if op.body is not None:
            models.add(op.body)
        models.update(m for _, m in op.responses.values() if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "serialization") for m in ordered], ref_template=REF)
    # Request bodies are validated with the validation-mode schema (defaults may be omitted).
    _, input_defs = models_json_schema(
        [(m, "validation") for m in ordered if any(op.body is m for op in ops)], ref_template=REF
    )
    schemas = {**defs.get("$defs", {}), **input_defs.get("$defs", {})}

    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        entry: dict[str, Any] = {
            "operationId": op.handler.__name__,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _parameters(op),
            "responses": _responses(op),
        }
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(op.body)}},
            }
        writes = op.method not in ("GET", "HEAD")
        entry["security"] = (
            [] if op.public else ([{"bearer": []}] if writes or auth_reads else [{}, {"bearer": []}])
        )
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "geoalert",
            "version": "1",
            "description": "Subscribe to geopolitical event rules; receive signed webhooks (Standard Webhooks) or emails.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "GEOALERT_API_TOKEN"}
            },
        },
    }


OPENAPI_TABLES = web.AppKey("openapi_tables", list[ApiRoutes])


@routes.route(
    "GET", "/openapi.json", summary="This document", responses={200: ("OpenAPI 3.1", None)}, public=True
)
async def openapi(request: web.Request) -> web.Response:
    document = build(request.app[OPENAPI_TABLES], auth_reads=request.app[SETTINGS].api_auth_reads)
    return web.json_response(document)
