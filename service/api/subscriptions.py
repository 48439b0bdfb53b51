"""``/v1/subscriptions``: create, list, read, change and delete subscriptions.

Subscriptions from the declarative file are listed too, marked read-only:
changing them through the API is refused (409) with a pointer to the file.
A webhook URL passes the SSRF guard before it is stored.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from notifiers.ssrf import check_url
from notifiers.webhook import new_secret
from service.api.framework import ApiError, ApiRoutes, body_of, invalid, json_of
from service.api.schemas import (
    ErrorBody,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
)
from service.subscription_store import new_subscription_id
from service.subscriptions import Subscription
from service.typedefs import DELIVERY_QUEUE, NETGUARD, RULES, SETTINGS, SUBSCRIPTIONS

routes = ApiRoutes("subscriptions")

NOT_FOUND = (404, ("no such subscription", ErrorBody))
INVALID = (422, ("invalid: see error.fields", ErrorBody))


async def _check(request: web.Request, rules: list[str] | None, url: str | None) -> None:
    """What a model cannot check alone: rule ids that exist, a URL the SSRF guard accepts."""
    problems: list[tuple[str, str]] = []
    if rules is not None and RULES in request.app:
        known = {r.id for r in request.app[RULES].rules.rules}
        for i, pattern in enumerate(rules):
            if pattern != "*" and not pattern.startswith("tag:") and pattern not in known:
                problems.append((f"rules[{i}]", f"no rule has the id {pattern!r}"))
    if url is not None:
        try:
            await check_url(url, request.app[NETGUARD])
        except ValueError as exc:
            problems.append(("webhook.url", str(exc)))
    if problems:
        raise ApiError(422, "the request is not valid; see fields", problems)


async def _find(request: web.Request) -> Subscription:
    request.app[SUBSCRIPTIONS].refresh()  # the api role may run alone: pick up file edits here too
    sub = await request.app[SUBSCRIPTIONS].get(request.match_info["id"])
    if sub is None:
        raise ApiError(404, f"no subscription has the id {request.match_info['id']!r}")
    return sub


def _writable(request: web.Request, sub: Subscription) -> None:
    if sub.source == "file":
        path = request.app[SETTINGS].subscriptions_file
        raise ApiError(
            409, f"subscription {sub.id!r} is declared in {path}, which is read-only here: edit the file"
        )


@routes.route(
    "POST",
    "/v1/subscriptions",
    summary="Subscribe to rules through a webhook or email",
    body=SubscriptionIn,
    responses={
        201: ("created; for webhooks the response carries the signing secret", SubscriptionCreated),
        422: INVALID[1],
    },
)
async def create_subscription(request: web.Request) -> web.Response:
    given = await body_of(request, SubscriptionIn)
    await _check(request, given.rules, given.webhook.url if given.webhook else None)
    data = given.model_dump()
    if given.webhook is not None and given.webhook.secret is None:
        data["webhook"]["secret"] = new_secret()
    sub = Subscription.model_validate({**data, "id": new_subscription_id(), "source": "api"})
    store = request.app[SUBSCRIPTIONS].store
    assert store is not None
    sub = await store.create(sub)
    secret = sub.webhook.secret if sub.webhook else None
    out = SubscriptionCreated(**SubscriptionOut.of(sub).model_dump(), secret=secret)
    return json_of(out, status=201)


@routes.route(
    "GET",
    "/v1/subscriptions",
    summary="Every subscription, the file's included",
    responses={200: ("the subscriptions", SubscriptionList)},
)
async def list_subscriptions(request: web.Request) -> web.Response:
    request.app[SUBSCRIPTIONS].refresh()
    subs = await request.app[SUBSCRIPTIONS].all()
    return json_of(SubscriptionList(items=[SubscriptionOut.of(s) for s in subs]))


@routes.route(
    "GET",
    "/v1/subscriptions/{id}",
    summary="One subscription",
    responses={200: ("the subscription", SubscriptionOut), 404: NOT_FOUND[1]},
)
async def get_subscription(request: web.Request) -> web.Response:
    return json_of(SubscriptionOut.of(await _find(request)))


@routes.route(
    "PATCH",
    "/v1/subscriptions/{id}",
    summary="Change a subscription (file subscriptions are read-only: 409)",
    body=SubscriptionPatch,
    responses={
        200: ("the changed subscription; carries the secret only if a new one was set", SubscriptionCreated),
        404: NOT_FOUND[1],
        409: ("declared in the subscriptions file", ErrorBody),
        422: INVALID[1],
    },
)
async def patch_subscription(request: web.Request) -> web.Response:
    sub = await _find(request)
    _writable(request, sub)
    patch = await body_of(request, SubscriptionPatch)
    changes: dict[str, Any] = patch.model_dump(exclude_unset=True)
    new_secret_value: str | None = None
    if patch.webhook is not None:
        await _check(request, None, patch.webhook.url)
        secret = patch.webhook.secret or (sub.webhook.secret if sub.webhook else None) or new_secret()
        if secret != (sub.webhook.secret if sub.webhook else None):
            new_secret_value = secret
        changes["webhook"] = {"url": patch.webhook.url, "secret": secret}
        changes["email"] = None
        changes.setdefault("digest", "immediate")
    elif patch.email is not None:
        changes["webhook"] = None
    if patch.rules is not None:
        await _check(request, patch.rules, None)
    if patch.enabled:
        changes["disabled_reason"] = None  # switching back on clears why it was off
    store = request.app[SUBSCRIPTIONS].store
    assert store is not None
    try:
        updated = await store.update(sub.id, changes)
    except ValidationError as exc:
        raise invalid(exc) from None
    if updated is None:
        raise ApiError(404, f"no subscription has the id {sub.id!r}")
    out = SubscriptionCreated(**SubscriptionOut.of(updated).model_dump(), secret=new_secret_value)
    return json_of(out)


@routes.route(
    "DELETE",
    "/v1/subscriptions/{id}",
    summary="Delete a subscription; its pending deliveries are cancelled",
    responses={
        204: ("deleted", None),
        404: NOT_FOUND[1],
        409: ("declared in the subscriptions file", ErrorBody),
    },
)
async def delete_subscription(request: web.Request) -> web.Response:
    sub = await _find(request)
    _writable(request, sub)
    store = request.app[SUBSCRIPTIONS].store
    assert store is not None
    await store.delete(sub.id)
    # Its pending deliveries are cancelled when next due; its delivery log goes now.
    await request.app[DELIVERY_QUEUE].drop_index([sub.id])
    return web.Response(status=204)
