"""Signed links that act without the API token: "pause this subscription", from an email.

A reader of an alert email has no API token, yet must be able to stop the
mails (and mail providers want a List-Unsubscribe header that works in one
click). The link carries an HMAC of the subscription id under a key only
the service knows, so it works for that subscription alone and cannot be
forged or pointed at another. GET only shows a page with a button (link
scanners and previews follow GETs); the pause itself is a POST, as RFC 8058
one-click unsubscription sends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote

from redis.asyncio import Redis

from service.config import Settings
from service.keys import Keys

PURPOSE = b"geoalert pause link\0"


class PauseLinks:
    def __init__(self, key: bytes, base_url: str | None) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/") if base_url else None

    def token(self, subscription_id: str) -> str:
        digest = hmac.new(self._key, PURPOSE + subscription_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def valid(self, subscription_id: str, token: str) -> bool:
        # As bytes: compare_digest refuses str with characters beyond ASCII, and a token comes from anyone.
        return hmac.compare_digest(self.token(subscription_id).encode(), token.encode("utf-8", "replace"))

    def url(self, subscription_id: str) -> str | None:
        """The pause link of a subscription, or None when GEOALERT_PUBLIC_URL is not set."""
        if self.base_url is None:
            return None
        return f"{self.base_url}/v1/links/pause/{quote(subscription_id, safe='')}?token={self.token(subscription_id)}"


async def pause_links(redis: Redis, keys: Keys, settings: Settings) -> PauseLinks:
    """The links of this deployment: signed with GEOALERT_LINK_SECRET, or else with a random key
    made once and kept in Redis, so that every process (and every restart) signs alike."""
    if settings.link_secret is not None:
        key = settings.link_secret.get_secret_value().encode()
    else:
        await redis.set(keys.link_secret, secrets.token_hex(32), nx=True)
        key = str(await redis.get(keys.link_secret)).encode()
    return PauseLinks(key, settings.public_url)
