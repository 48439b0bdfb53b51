"""``/v1/links/pause/{id}?token=``: the signed "stop these emails" link of alert emails.

Public (no API token): the HMAC in the link is the authority, for that one
subscription and that one act. GET answers a page with a button and changes
nothing, because mail scanners and link previews fetch every link; POST (the
button, or a mail client's RFC 8058 one-click request) pauses the subscription.
A wrong token and an unknown subscription get the same 404, so the link
cannot be used to find out which subscriptions exist.
"""

from __future__ import annotations

import html

from aiohttp import web
from pydantic import BaseModel, Field

from service.api.framework import ApiError, ApiRoutes, query_of
from service.api.schemas import ErrorBody
from service.typedefs import LINKS, SUBSCRIPTIONS

routes = ApiRoutes("links")

PREFIX = "/v1/links/"
REASON = "paused from the link in an alert email"


class PauseQuery(BaseModel):
    token: str = Field(min_length=1, max_length=100, description="the signature carried by the link")


class PauseResult(BaseModel):
    subscription: str
    paused: bool


async def _checked(request: web.Request) -> str:
    subscription_id = request.match_info["id"]
    token = query_of(request, PauseQuery).token
    if not request.app[LINKS].valid(subscription_id, token):
        raise ApiError(404, "no such link")
    if await request.app[SUBSCRIPTIONS].get(subscription_id) is None:
        raise ApiError(404, "no such link")
    return subscription_id


@routes.route(
    "GET",
    "/v1/links/pause/{id}",
    summary="The page of an email's pause link: a button that pauses the subscription (changes nothing)",
    query=PauseQuery,
    responses={200: ("a page with the button", None), 404: ("no such link", ErrorBody)},
    media_type="text/html",
    public=True,
)
async def pause_page(request: web.Request) -> web.Response:
    subscription_id = await _checked(request)
    sub = await request.app[SUBSCRIPTIONS].get(subscription_id)
    name = html.escape(sub.name if sub is not None else subscription_id)
    action = html.escape(str(request.rel_url), quote=True)
    page = (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<p>Stop the alert emails of the subscription <strong>{name}</strong>?</p>"
        f"<form method='post' action='{action}'><button type='submit'>Pause it</button></form>"
        "<p style='color:#888'>It can be enabled again through the geoalert API.</p></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


@routes.route(
    "POST",
    "/v1/links/pause/{id}",
    summary="Pause the subscription of an email's pause link (RFC 8058 one-click unsubscription)",
    query=PauseQuery,
    responses={200: ("paused", PauseResult), 404: ("no such link", ErrorBody)},
    public=True,
)
async def pause(request: web.Request) -> web.Response:
    subscription_id = await _checked(request)
    await request.app[SUBSCRIPTIONS].disable(subscription_id, REASON)
    if "text/html" in request.headers.get("Accept", ""):  # the page's button, in a browser
        return web.Response(text="<!doctype html><p>Paused: no more emails.</p>", content_type="text/html")
    return web.json_response(PauseResult(subscription=subscription_id, paused=True).model_dump())
