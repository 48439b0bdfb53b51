"""Console sessions and the checks every state-changing request passes.

- A session is a random id in an HttpOnly, SameSite=Strict cookie, kept in
  Redis with an expiry; logging out deletes it there, so a copied cookie dies
  with it. With an API token, a session starts only at the login form (the
  token is the password); without one the API serves loopback clients only,
  and a console visit starts a session by itself.
- Every state-changing request made with a session carries a CSRF token
  (``X-CSRF-Token`` header, or a ``csrf`` form field): an HMAC of the session
  id, so nothing else has to be stored.
- Browsers say where a request comes from (``Sec-Fetch-Site``, ``Origin``):
  a state-changing request from another site is refused whatever it carries.
  Clients that are not browsers send neither and use the bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from service.config import Settings
from service.typedefs import KEYS, REDIS, SETTINGS

SESSION_COOKIE = "geoalert_session"
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"

SESSION_KEY = web.AppKey("console_session_key", bytes)
_SESSION = web.RequestKey("console_session", str)  # the checked session id ("" for none)


def session_key(settings: Settings) -> bytes:
    """What CSRF tokens are signed with: from the API token, so every api process agrees; else random."""
    if settings.api_token is not None:
        secret = settings.api_token.get_secret_value().encode()
        return hmac.new(secret, b"geoalert console csrf", hashlib.sha256).digest()
    return secrets.token_bytes(32)


def csrf_token(request: web.Request, session_id: str) -> str:
    return hmac.new(request.app[SESSION_KEY], session_id.encode(), hashlib.sha256).hexdigest()


def _valid_id(value: str) -> bool:
    return 20 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


async def session_of(request: web.Request) -> str | None:
    """The request's live session id, or None (no cookie, a malformed one, or one logged out/expired)."""
    if _SESSION in request:
        return str(request[_SESSION]) or None
    given = request.cookies.get(SESSION_COOKIE, "")
    found = ""
    if _valid_id(given) and await request.app[REDIS].exists(request.app[KEYS].console_session(given)):
        found = given
    request[_SESSION] = found
    return found or None


async def start_session(request: web.Request) -> str:
    """A new session, stored; send its cookie with ``set_session_cookie``."""
    session_id = secrets.token_urlsafe(32)
    key = request.app[KEYS].console_session(session_id)
    await request.app[REDIS].set(key, "1", ex=SESSION_SECONDS)
    request[_SESSION] = session_id
    return session_id


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    session_id = await session_of(request)
    if session_id is not None:
        await request.app[REDIS].delete(request.app[KEYS].console_session(session_id))
    response.del_cookie(SESSION_COOKIE, path="/")
    request[_SESSION] = ""


async def csrf_ok(request: web.Request, session_id: str) -> bool:
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get(CSRF_FIELD, "")
        given = value if isinstance(value, str) else ""
    return bool(given) and hmac.compare_digest(given.encode(), csrf_token(request, session_id).encode())


def cross_site(request: web.Request) -> bool:
    """True when a browser says this request was made by a page of another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        # The browser's own word, when it gives it, settles it: the console's pages send no
        # referrer, so their own form posts carry "Origin: null" and cannot be judged by it.
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    if origin == "null":
        return True
    parts = urlsplit(origin)
    return parts.netloc.lower() != request.host.lower() or parts.scheme != request.scheme


def token_matches(request: web.Request, given: str) -> bool:
    """The login form's check, as strict as the bearer header's: byte for byte, ASCII only."""
    token = request.app[SETTINGS].api_token
    if token is None or not given.isascii():
        return False
    return hmac.compare_digest(given.encode("ascii"), token.get_secret_value().encode("ascii"))
