"""Registers every route of the HTTP API; the handlers live in their own modules."""

from __future__ import annotations

from aiohttp import web

from service.api import articles, feeds, health


def setup_routes(app: web.Application) -> None:
    app.add_routes(health.routes)
    app.add_routes([*articles.routes, *feeds.routes])
