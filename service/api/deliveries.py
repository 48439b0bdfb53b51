"""The delivery log: ``GET /v1/subscriptions/{id}/deliveries``, ``GET /v1/deliveries/{id}``, and redelivery."""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, Field, field_validator

from service.api.framework import ApiError, ApiRoutes, json_of, query_of
from service.api.schemas import DeliveryList, DeliveryOut, ErrorBody
from service.typedefs import DELIVERY_QUEUE, DELIVERY_WORKER, SUBSCRIPTIONS

routes = ApiRoutes("deliveries")

_CURSOR = re.compile(r"^\d{1,12}\.\d{3}~[0-9a-f]{1,64}$")


class DeliveryQuery(BaseModel):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=50, ge=1, le=200)

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None and not _CURSOR.match(value):
            raise ValueError("must be a next_cursor value from a previous page")
        return value


@routes.route(
    "GET",
    "/v1/subscriptions/{id}/deliveries",
    summary="The delivery log of a subscription: attempts, status codes, errors (newest first)",
    query=DeliveryQuery,
    responses={
        200: ("a page of deliveries", DeliveryList),
        404: ("no such subscription", ErrorBody),
        422: ("invalid: see error.fields", ErrorBody),
    },
)
async def subscription_deliveries(request: web.Request) -> web.Response:
    sub_id = request.match_info["id"]
    query = query_of(request, DeliveryQuery)
    if await request.app[SUBSCRIPTIONS].get(sub_id) is None:
        raise ApiError(404, f"no subscription has the id {sub_id!r}")
    records, cursor = await request.app[DELIVERY_QUEUE].for_subscription(
        sub_id, limit=query.limit, cursor=query.cursor
    )
    items = [DeliveryOut.of(record, log) for record, log in records]
    return json_of(DeliveryList(items=items, next_cursor=cursor))


async def _delivery(request: web.Request, delivery_id: str) -> DeliveryOut:
    queue = request.app[DELIVERY_QUEUE]
    record = await queue.get(delivery_id)
    if record is None:
        raise ApiError(
            404, f"no delivery has the id {delivery_id!r} (finished ones are kept for a while only)"
        )
    return DeliveryOut.of(record, await queue.attempts(delivery_id))


@routes.route(
    "GET",
    "/v1/deliveries/{id}",
    summary="One delivery with its attempts",
    responses={200: ("the delivery", DeliveryOut), 404: ("no such delivery", ErrorBody)},
)
async def get_delivery(request: web.Request) -> web.Response:
    return json_of(await _delivery(request, request.match_info["id"]))


@routes.route(
    "POST",
    "/v1/deliveries/{id}/redeliver",
    summary="Attempt a delivery again now (a dead letter, or one already delivered), with a fresh retry schedule",
    responses={
        202: ("queued; the same webhook-id is used", DeliveryOut),
        404: ("no such delivery", ErrorBody),
        409: ("an attempt is in flight", ErrorBody),
    },
)
async def redeliver(request: web.Request) -> web.Response:
    delivery_id = request.match_info["id"]
    result = await request.app[DELIVERY_QUEUE].redeliver(delivery_id)
    if result == "missing":
        raise ApiError(
            404, f"no delivery has the id {delivery_id!r} (finished ones are kept for a while only)"
        )
    if result == "in_flight":
        raise ApiError(409, "an attempt of this delivery is in flight; try again when it has finished")
    if DELIVERY_WORKER in request.app:
        request.app[DELIVERY_WORKER].wake()
    return json_of(await _delivery(request, delivery_id), status=202)
