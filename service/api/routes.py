"""Registers every route of the HTTP API; the handlers live in their own modules."""

from __future__ import annotations

from aiohttp import web

from service.api import (
    alert_views,
    alerts,
    articles,
    deliveries,
    digests,
    feeds,
    health,
    links,
    metrics,
    openapi,
    rule_edits,
    rules,
    stored_articles,
    subscriptions,
)
from service.api.framework import ApiRoutes
from service.api.middlewares import setup_middlewares
from service.api.schemas import HealthBody
from service.console import setup_console

TABLES = [
    articles.routes,
    feeds.routes,
    subscriptions.routes,
    links.routes,
    digests.routes,
    deliveries.routes,
    rule_edits.routes,  # before rules: /v1/rules/activity is not a rule id
    rules.routes,
    alerts.routes,
    alert_views.routes,
    stored_articles.routes,
    metrics.routes,
    openapi.routes,
]

# The health routes are aiohttp's own (a RouteTableDef); these entries only describe them.
probes = ApiRoutes("operations")
probes.route(
    "GET",
    "/healthz",
    summary="Redis reachable, stage lag, rule status (503 when degraded)",
    responses={200: ("healthy", HealthBody), 503: ("degraded", HealthBody)},
    public=True,
)(health.healthz)
probes.route(
    "GET", "/livez", summary="The process is up", responses={200: ("alive", HealthBody)}, public=True
)(health.livez)


def setup_routes(app: web.Application) -> None:
    setup_middlewares(app)
    alert_views.setup_alert_streams(app)
    rule_edits.setup_backtests(app)
    setup_console(app)
    app.add_routes(health.routes)
    for table in TABLES:
        table.add_to(app)
    app[openapi.OPENAPI_TABLES] = [*TABLES, probes]
