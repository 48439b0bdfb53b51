"""``GET /metrics``: the app's Prometheus registry, with stream and queue gauges read at scrape time.

Counters count what this process did (scrape every process); gauges read
from Redis describe the shared pipeline, so any process reports them.
"""

from __future__ import annotations

import contextlib

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.framework import ApiRoutes
from service.keys import ALERTS_GROUP, ARTICLES_GROUP
from service.streams import TRANSIENT_ERRORS, group_status
from service.typedefs import DELIVERY_QUEUE, KEYS, METRICS, REDIS

routes = ApiRoutes("operations")


async def refresh_gauges(app: web.Application) -> None:
    metrics, redis, keys = app[METRICS], app[REDIS], app[KEYS]
    for name, stream, group in (
        ("articles", keys.articles, ARTICLES_GROUP),
        ("alerts", keys.alerts, ALERTS_GROUP),
    ):
        status = await group_status(redis, stream, group)
        metrics.stream_lag.labels(name).set(status["lag"] or 0)
        metrics.stream_pending.labels(name).set(status["pending"])
        metrics.stream_length.labels(name).set(await redis.xlen(stream))
    if DELIVERY_QUEUE in app:
        metrics.deliveries_active.set(await app[DELIVERY_QUEUE].count_active())
    metrics.deliveries_dead_letters.set(await redis.zcard(keys.deliveries_dead_now))


@routes.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics: ingest, alerts, deliveries by outcome, delivery latency, stream lag",
    responses={200: ("Prometheus text format", None)},
    media_type="text/plain",
)
async def metrics(request: web.Request) -> web.Response:
    with contextlib.suppress(*TRANSIENT_ERRORS):  # Redis down: still serve the counters this process holds
        await refresh_gauges(request.app)
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
