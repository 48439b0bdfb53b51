"""``/v1/subscriptions``: create, list, read, change and delete subscriptions.

Subscriptions from the declarative file are listed too, marked read-only:
changing them through the API is refused (409) with a pointer to the file.
The body of a new subscription is the very model the file uses
(``SubscriptionSpec``). A webhook URL, and the host of an Apprise URL, are
refused when private on their face (``notifiers.ssrf.check_host``); every
address is checked again when connecting.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError

from notifiers.apprise_target import REVEAL, instantiate
from notifiers.ssrf import check_host, check_url_offline
from service.api.framework import ApiError, ApiRoutes, body_of, invalid, json_of
from service.api.middlewares import authenticated
from service.api.schemas import (
    DeliveryOut,
    ErrorBody,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    WebhookOut,
)
from service.models import Alert, ArticleRef, RuleRef, utcnow
from service.subscriptions import Subscription, SubscriptionSpec, new_subscription_id
from service.subscriptions.model import CHANNELS, unknown_patterns, wire_location
from service.subscriptions.store import NameTaken
from service.typedefs import DELIVERY_QUEUE, DELIVERY_WORKER, NETGUARD, RULES, SETTINGS, SUBSCRIPTIONS

routes = ApiRoutes("subscriptions")

NOT_FOUND = (404, ("no such subscription", ErrorBody))
INVALID = (422, ("invalid: see error.fields", ErrorBody))
NAME_TAKEN = (409, ("another subscription has this name", ErrorBody))


def _check(request: web.Request, sub: SubscriptionSpec) -> None:
    """What the model cannot check alone: rules and tags that exist, hosts that are not private."""
    problems: list[tuple[str, str]] = []
    if RULES in request.app:
        problems += unknown_patterns(sub, request.app[RULES].rules.rules)
    policy = request.app[NETGUARD]
    if sub.webhook is not None:
        try:
            check_url_offline(sub.webhook.url, policy)
        except ValueError as exc:
            problems.append(("webhook.url", str(exc)))
    if sub.apprise is not None:
        for i, url in enumerate(sub.apprise.secrets()):
            service = instantiate(url)
            try:
                check_host(str(getattr(service, "host", "") or ""), policy)
            except ValueError as exc:
                problems.append((f"apprise.urls[{i}]", str(exc)))
    if sub.console is not None:
        problems.append(("console", "console subscriptions print on the server: declare them in the file"))
    if problems:
        raise ApiError(422, "the request is not valid; see fields", problems)


async def _unique_name(request: web.Request, name: str, own_id: str | None = None) -> None:
    other = await request.app[SUBSCRIPTIONS].named(name)
    if other is not None and other.id != own_id:
        raise ApiError(409, f"subscription {other.id!r} is already called {name!r}: names are unique")


def _warnings(request: web.Request, sub: Subscription) -> list[str]:
    if sub.email is not None and request.app[SETTINGS].smtp_host is None:
        return [
            "no SMTP server is configured (GEOALERT_SMTP_HOST): this subscription's mails wait in the"
            " retry queue until one is"
        ]
    return []


async def _find(request: web.Request) -> Subscription:
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
    summary="Subscribe to rules through a webhook, email or a chat service (Apprise)",
    body=SubscriptionSpec,
    responses={
        201: ("created; for webhooks the response carries the signing secret", SubscriptionCreated),
        409: NAME_TAKEN[1],
        422: INVALID[1],
    },
)
async def create_subscription(request: web.Request) -> web.Response:
    given = await body_of(request, SubscriptionSpec, relocate=wire_location)
    _check(request, given)
    await _unique_name(request, given.name)
    sub = Subscription.model_validate(
        {**given.model_dump(context=REVEAL), "id": new_subscription_id(), "source": "api"}
    )
    store = request.app[SUBSCRIPTIONS].store
    assert store is not None
    try:
        sub = await store.create(sub)
    except NameTaken as exc:
        raise ApiError(409, str(exc)) from None
    secret = sub.webhook.secret if sub.webhook else None
    out = SubscriptionCreated(
        **SubscriptionOut.of(sub).model_dump(), secret=secret, warnings=_warnings(request, sub)
    )
    return json_of(out, status=201)


def shown(request: web.Request, sub: Subscription) -> SubscriptionOut:
    """A subscription as this caller may read it.

    Slack, Teams and Discord put the credential in the webhook URL's path, so
    when reads are open a caller without the token sees its origin only.
    """
    out = SubscriptionOut.of(sub)
    if out.webhook is None or authenticated(request):
        return out
    parts = urlsplit(out.webhook.url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/***"
    return out.model_copy(update={"webhook": WebhookOut(url=origin)})


@routes.route(
    "GET",
    "/v1/subscriptions",
    summary="Every subscription, the file's included",
    responses={200: ("the subscriptions", SubscriptionList)},
)
async def list_subscriptions(request: web.Request) -> web.Response:
    subs = await request.app[SUBSCRIPTIONS].all()
    return json_of(SubscriptionList(items=[shown(request, s) for s in subs]))


@routes.route(
    "GET",
    "/v1/subscriptions/{id}",
    summary="One subscription",
    responses={200: ("the subscription", SubscriptionOut), 404: NOT_FOUND[1]},
)
async def get_subscription(request: web.Request) -> web.Response:
    return json_of(shown(request, await _find(request)))


def _merged(sub: Subscription, changes: dict[str, Any]) -> dict[str, Any]:
    """The subscription as written, with ``changes`` applied; a new channel replaces the old one."""
    written = sub.written()
    new_channel = next((c for c in CHANNELS if changes.get(c) is not None), None)
    if new_channel is not None:
        old_secret = written.get("webhook", {}).get("secret")
        for channel in CHANNELS:
            written.pop(channel, None)
        if new_channel == "webhook" and changes["webhook"].get("secret") is None and old_secret:
            changes["webhook"]["secret"] = old_secret  # the secret stays when only the URL moves
        if new_channel != "email":
            changes.setdefault("digest", "immediate")
    changes = {k: v for k, v in changes.items() if not (k in CHANNELS and v is None)}
    return {**written, **changes}


@routes.route(
    "PATCH",
    "/v1/subscriptions/{id}",
    summary="Change a subscription (file subscriptions are read-only: 409)",
    body=SubscriptionPatch,
    responses={
        200: ("the changed subscription; carries the secret only if a new one was set", SubscriptionCreated),
        404: NOT_FOUND[1],
        409: ("declared in the subscriptions file, or the new name is taken", ErrorBody),
        422: INVALID[1],
    },
)
async def patch_subscription(request: web.Request) -> web.Response:
    sub = await _find(request)
    _writable(request, sub)
    patch = await body_of(request, SubscriptionPatch)
    changes: dict[str, Any] = patch.model_dump(mode="json", exclude_unset=True, context=REVEAL)
    try:
        candidate = Subscription.model_validate({**_merged(sub, dict(changes)), "id": sub.id})
    except ValidationError as exc:
        raise invalid(exc, relocate=wire_location) from None
    _check(request, candidate)
    if "name" in changes:
        await _unique_name(request, candidate.name, sub.id)

    def change(current: Subscription) -> Subscription:
        updated = Subscription.model_validate(
            {
                **_merged(current, dict(changes)),
                "id": current.id,
                "created_at": current.created_at,
                # switching back on clears why it was off
                "disabled_reason": None if changes.get("enabled") else current.disabled_reason,
            }
        )
        return updated.with_secret()

    store = request.app[SUBSCRIPTIONS].store
    assert store is not None
    try:
        updated = await store.update(sub.id, change)
    except ValidationError as exc:
        raise invalid(exc, relocate=wire_location) from None
    except NameTaken as exc:
        raise ApiError(409, str(exc)) from None
    if updated is None:
        raise ApiError(404, f"no subscription has the id {sub.id!r}")
    before = sub.webhook.secret if sub.webhook else None
    after = updated.webhook.secret if updated.webhook else None
    out = SubscriptionCreated(
        **SubscriptionOut.of(updated).model_dump(),
        secret=after if after != before else None,
        warnings=_warnings(request, updated),
    )
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


TEST_RULE = RuleRef(id="test_event", title="Test event", severity="info", tags=["test"])


@routes.route(
    "POST",
    "/v1/subscriptions/{id}/test",
    summary="Send the subscription a test event through the real delivery path (queue, signing, retries, "
    "delivery log); it ignores the subscription's rules, severity and snooze",
    responses={
        202: ("queued: the delivery, in the subscription's delivery log", DeliveryOut),
        404: NOT_FOUND[1],
        409: ("the subscription is paused (its deliveries would be cancelled)", ErrorBody),
        429: ("held back by the subscription's throttle", ErrorBody),
    },
)
async def send_test_event(request: web.Request) -> web.Response:
    sub = await _find(request)
    if not sub.enabled:
        raise ApiError(409, f"subscription {sub.name!r} is paused: resume it to send it a test event")
    marker = secrets.token_hex(6)
    alert = Alert(
        id=f"test-{marker}",
        rule=TEST_RULE,
        article=ArticleRef(
            id=f"test-{marker}",
            title=f"Test event for {sub.name}: if this arrived, the subscription works",
            source="geoalert",
            published=utcnow(),
        ),
        story_id=f"test-{marker}",
    )
    delivery_id = await request.app[DELIVERY_QUEUE].enqueue(alert, sub)
    if delivery_id is None:
        raise ApiError(429, "the subscription's throttle holds this back; try again after its period")
    if DELIVERY_WORKER in request.app:
        request.app[DELIVERY_WORKER].wake()
    queue = request.app[DELIVERY_QUEUE]
    record = await queue.get(delivery_id)
    assert record is not None
    return json_of(DeliveryOut.of(record, await queue.attempts(delivery_id)), status=202)
