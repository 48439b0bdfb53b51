"""Webhooks signed to the Standard Webhooks specification (https://www.standardwebhooks.com).

Each request carries ``webhook-id`` (the same on every attempt, for the
receiver's de-duplication), ``webhook-timestamp`` and ``webhook-signature``:
``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` keyed with the
base64-decoded ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from pydantic import BaseModel, ConfigDict, Field, field_validator
from yarl import URL

from notifiers.base import Notification, PermanentError, Receipt, RetryableError
from notifiers.ssrf import AddressPolicy, GuardedResolver, UnsafeAddress, parse_url

SECRET_PREFIX = "whsec_"
BODY_CACHE_SIZE = 256  # alerts whose request body is kept while they fan out
MAX_RESPONSE_BYTES = 4096  # enough for an error message; a receiver cannot make us buffer more


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2048,
        description="http(s) URL that receives a POST per alert",
        examples=["https://example.org/hook"],
    )
    secret: str | None = Field(
        default=None, description="whsec_ + base64 key of 24-64 bytes; generated when omitted"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parse_url(value)
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is not None:
            key = secret_bytes(value)
            if not 24 <= len(key) <= 64:
                raise ValueError("secret must hold 24 to 64 bytes (the Standard Webhooks range)")
        return value

    @property
    def endpoint(self) -> str:
        """scheme://host:port: deliveries to one endpoint share its concurrency limit."""
        url = URL(self.url)
        return f"{url.scheme}://{(url.host or '').lower()}:{url.port}"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("secret must be 'whsec_' followed by base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one request."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def event(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The ``alert.created`` event: the Standard Webhooks envelope around the alert's public fields."""
    rule = alert.get("rule", {})
    article = alert.get("article", {})
    return {
        "type": "alert.created",
        "timestamp": alert.get("created_at"),
        "data": {
            "id": alert.get("id"),
            "rule": {k: rule.get(k) for k in ("id", "title", "severity")},
            "article": {k: article.get(k) for k in ("id", "title", "url", "source", "published")},
            "evidence": alert.get("evidence", []),
            "story_id": alert.get("story_id"),
            "created_at": alert.get("created_at"),
        },
    }


def payload(notification: Notification) -> bytes:
    return json.dumps(event(notification.alert), separators=(",", ":"), ensure_ascii=False).encode()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP date is in GMT, never local time
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - time.time())


def webhook_session(
    policy: AddressPolicy, *, limit: int = 256, dns_ttl: int = 60, dns: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """An HTTP client for webhooks only: every name it resolves goes through the SSRF guard.

    No proxies from the environment (they would bypass the guard) and no
    cookies (a receiver must not be able to make later requests stateful).
    """
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=0, ttl_dns_cache=dns_ttl, resolver=GuardedResolver(policy, dns)
    )
    return aiohttp.ClientSession(
        connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
    )


class WebhookNotifier:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        policy: AddressPolicy,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._policy = policy
        self._timeout = timeout or aiohttp.ClientTimeout(total=15, sock_connect=5)
        self._clock = clock
        # One alert fans out to many endpoints with the same body: serialise it once.
        self._bodies: OrderedDict[str, bytes] = OrderedDict()

    def _body(self, notification: Notification) -> bytes:
        key = str(notification.alert.get("id", ""))
        body = self._bodies.get(key) if key else None
        if body is None:
            body = payload(notification)
            if key:
                self._bodies[key] = body
                if len(self._bodies) > BODY_CACHE_SIZE:
                    self._bodies.popitem(last=False)
        return body

    async def send(self, notification: Notification, target: WebhookTarget) -> Receipt:
        if target.secret is None:
            raise PermanentError("webhook subscription has no signing secret")
        url = URL(target.url)
        try:
            self._policy.check_literal(url.raw_host or "")
        except UnsafeAddress as exc:
            raise PermanentError(str(exc)) from None
        body = self._body(notification)
        # A fresh timestamp (and so signature) per attempt: receivers reject
        # stale timestamps to stop replays, and a retry may come hours later.
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "user-agent": "geoalert-webhook/1",
            "webhook-id": notification.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(target.secret, notification.delivery_id, timestamp, body),
        }
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                excerpt = await response.content.read(MAX_RESPONSE_BYTES)
                return _outcome(response, excerpt.decode("utf-8", "replace"))
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, UnsafeAddress):
                raise PermanentError(str(exc.os_error)) from exc
            raise RetryableError(f"cannot connect: {exc.os_error or exc}") from exc
        except TimeoutError as exc:
            raise RetryableError("timed out") from exc
        except aiohttp.ClientError as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


def _outcome(response: aiohttp.ClientResponse, excerpt: str) -> Receipt:
    status = response.status
    short = " ".join(excerpt.split())[:200]
    if 200 <= status < 300:
        return Receipt(status=status, detail=short)
    if status == 410:
        raise PermanentError("endpoint answered 410 Gone: subscription disabled", status=status, disable=True)
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        raise RetryableError(
            f"endpoint answered {status} (redirects are not followed) to {where[:200]!r}", status=status
        )
    retry_after = retry_after_seconds(response.headers.get("retry-after")) if status in (429, 503) else None
    raise RetryableError(f"endpoint answered {status}: {short}", status=status, retry_after=retry_after)
