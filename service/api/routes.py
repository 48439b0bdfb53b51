"""Registers every route of the HTTP API; the handlers live in their own modules."""

from __future__ import annotations

from aiohttp import web

from service.api import alerts, deliveries, health, metrics, openapi, rules, subscriptions
from service.api.middlewares import setup_middlewares

TABLES = [
    subscriptions.routes,
    deliveries.routes,
    rules.routes,
    alerts.routes,
    metrics.routes,
    openapi.routes,
]


def setup_routes(app: web.Application) -> None:
    setup_middlewares(app)
    app.add_routes(health.routes)
    for table in TABLES:
        table.add_to(app)
    app[openapi.OPENAPI_TABLES] = TABLES
