"""Webhooks signed to the Standard Webhooks specification (https://www.standardwebhooks.com).

Each request carries ``webhook-id`` (the same on every attempt, for the
receiver's de-duplication), ``webhook-timestamp`` and ``webhook-signature``:
``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` keyed with the
base64-decoded ``whsec_`` secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from notifiers.base import Notification, PermanentError, Receipt, RetryableError

SECRET_PREFIX = "whsec_"
MAX_RESPONSE_BYTES = 4096  # enough for an error message; a receiver cannot make us buffer more


class WebhookTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL that receives a POST per alert")
    secret: str | None = Field(default=None, description="whsec_ + base64 key; generated when omitted")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is not None:
            secret_bytes(value)
        return value


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


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


def payload(notification: Notification) -> bytes:
    event = {
        "type": "alert.created",
        "timestamp": notification.alert.get("created_at"),
        "data": notification.alert,
    }
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class WebhookNotifier:
    def __init__(
        self, session: aiohttp.ClientSession, *, timeout: aiohttp.ClientTimeout | None = None
    ) -> None:
        self._session = session
        self._timeout = timeout or aiohttp.ClientTimeout(total=15, sock_connect=5)

    async def send(self, notification: Notification, target: WebhookTarget) -> Receipt:
        if target.secret is None:
            raise PermanentError("webhook subscription has no signing secret")
        body = payload(notification)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "geoalert-webhook/1",
            "webhook-id": notification.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(target.secret, notification.delivery_id, timestamp, body),
        }
        try:
            async with self._session.post(
                target.url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                excerpt = (await response.content.read(MAX_RESPONSE_BYTES)).decode("utf-8", "replace")
                return _outcome(response, excerpt)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc


def _outcome(response: aiohttp.ClientResponse, excerpt: Any) -> Receipt:
    status = response.status
    if 200 <= status < 300:
        return Receipt(status=status, detail=str(excerpt)[:200])
    if status == 410:
        raise PermanentError("endpoint answered 410 Gone", status=status, disable=True)
    retry_after = retry_after_seconds(response.headers.get("retry-after")) if status in (429, 503) else None
    raise RetryableError(
        f"endpoint answered {status}: {str(excerpt)[:200]}", status=status, retry_after=retry_after
    )
