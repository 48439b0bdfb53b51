"""``/v1/subscriptions/{id}/digest``: see what the next digest email holds, or send it now.

A daily digest otherwise shows nothing until the day ends: a new subscriber
wants to know what it will look like, and an operator may want it sent at
once (before a holiday, or to test the mail set-up).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from notifiers.base import Notification
from notifiers.email import SmtpConfig, build_message
from service.api.framework import ApiError, ApiRoutes, json_of
from service.api.schemas import ErrorBody
from service.delivery.digest import Digests
from service.subscriptions import Subscription
from service.typedefs import KEYS, REDIS, SETTINGS, SUBSCRIPTIONS

routes = ApiRoutes("subscriptions")


class DigestPeriod(BaseModel):
    period: str
    alerts: int
    text: str = Field(description="the email's text as it would be sent now")


class DigestPreview(BaseModel):
    subscription: str
    digest: str
    periods: list[DigestPeriod]


class DigestSent(BaseModel):
    subscription: str
    deliveries: int = Field(description="digest emails queued now (0: nothing was waiting)")


async def _digest_subscription(request: web.Request) -> tuple[Subscription, Digests]:
    sub = await request.app[SUBSCRIPTIONS].get(request.match_info["id"])
    if sub is None:
        raise ApiError(404, "no such subscription")
    if sub.email is None or sub.digest == "immediate":
        raise ApiError(
            409, f"subscription {sub.name!r} sends no digests (email with digest: hourly or daily)"
        )
    digests = Digests(request.app[REDIS], request.app[KEYS], request.app[SUBSCRIPTIONS].get)
    return sub, digests


@routes.route(
    "GET",
    "/v1/subscriptions/{id}/digest",
    summary="What the subscription's next digest emails hold so far, as they would be sent now",
    responses={
        200: ("the open digests", DigestPreview),
        404: ("no such subscription", ErrorBody),
        409: ("not a digest subscription", ErrorBody),
    },
)
async def preview_digest(request: web.Request) -> web.Response:
    sub, digests = await _digest_subscription(request)
    assert sub.email is not None
    settings = request.app[SETTINGS]
    config = SmtpConfig(host=None, sender=settings.smtp_from, domain=settings.email_domain)
    periods = []
    for period, alerts in await digests.pending(sub.id):
        notification = Notification("preview", alerts[0] if alerts else {}, alerts=alerts, period=period)
        body = build_message(notification, sub.email, config).get_body(("plain",))
        text = body.get_content() if body is not None else ""
        periods.append(DigestPeriod(period=period, alerts=len(alerts), text=text))
    return json_of(DigestPreview(subscription=sub.id, digest=sub.digest, periods=periods))


@routes.route(
    "POST",
    "/v1/subscriptions/{id}/digest",
    summary="Send the subscription's digest now, with what it holds so far",
    responses={
        202: ("queued", DigestSent),
        404: ("no such subscription", ErrorBody),
        409: ("not a digest subscription", ErrorBody),
    },
)
async def send_digest_now(request: web.Request) -> web.Response:
    sub, digests = await _digest_subscription(request)
    made = await digests.flush_now(sub.id)
    return json_of(DigestSent(subscription=sub.id, deliveries=made), status=202)
