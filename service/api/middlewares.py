"""JSON errors and bearer-token authentication for the whole HTTP API.

- Every error leaves as ``{"error": {"message": ..., "fields": [...]}}``,
  including aiohttp's own (404, 405, 413) and unexpected ones (500, logged).
- With ``GEOALERT_API_TOKEN`` set, writes need ``Authorization: Bearer
  <token>`` (reads too with ``GEOALERT_API_AUTH_READS``). The presented token
  is compared byte for byte: nothing is stripped or normalised, and anything
  but ASCII is simply wrong. The console's session cookie, with its CSRF
  token on every state-changing request, stands for the token. Without a
  token the API serves loopback clients only, and asking it to listen beyond
  loopback stops start-up.
- A state-changing request a browser says comes from another site is refused
  (see ``service.console.auth``).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging

from aiohttp import web

from service.api.framework import ApiError, ClientGone, Handler
from service.config import Settings
from service.console.auth import cross_site, csrf_ok, session_of
from service.errors import SettingsError
from service.streams import TRANSIENT_ERRORS
from service.typedefs import SETTINGS

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/openapi.json"})
STATIC_PREFIX = "/static/"  # the console's scripts, styles and icon: public files of the package
LOGIN_PATHS = frozenset({"/login"})  # checks the token itself, from a form
PUBLIC_PREFIX = "/v1/links/"  # signed links (their signature is the authority)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_TOKEN = "no GEOALERT_API_TOKEN is set, so the API serves loopback clients only"


def listen_host(settings: Settings) -> str:
    """The address to bind; ``SettingsError`` when it reaches beyond loopback with no token to protect it.

    Refused rather than quietly bound to loopback: an operator who asked for
    every interface wants to hear at once that the API would not be reachable
    (or, with an empty token, would have been open).
    """
    if settings.api_token is None and not _is_loopback(settings.http_host):
        raise SettingsError(
            f"GEOALERT_HTTP_HOST={settings.http_host} serves other hosts, so GEOALERT_API_TOKEN must be set"
            " (at least 16 characters, e.g. `openssl rand -hex 32`); or listen on 127.0.0.1"
        )
    if settings.api_token is None:
        log.warning("%s (set GEOALERT_API_TOKEN to serve other hosts)", NO_TOKEN)
    return settings.http_host


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def authenticated(request: web.Request) -> bool:
    """Whether the caller proved it holds the token (without a token: whether it is on this machine)."""
    token = request.app[SETTINGS].api_token
    if token is None:
        return _is_loopback(request.remote)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Header bytes that are not UTF-8 arrive as surrogates: not ASCII, so not the token.
    if scheme.lower() != "bearer" or not given or not given.isascii():
        return False
    return hmac.compare_digest(given.encode("ascii"), token.get_secret_value().encode("ascii"))


def _error(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc)
    except ClientGone as exc:
        # Not a fault of ours nor of storage: say so, or an operator goes looking for one.
        log.info(
            "%s %s: the client went away before sending the whole body (%s)",
            request.method,
            request.path,
            exc,
        )
        return _error(ApiError(400, "the connection closed before the whole body arrived"))
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].api_max_body_bytes
        return _error(ApiError(413, f"the body is larger than the limit of {limit} bytes"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(ApiError(exc.status, exc.reason, headers=headers))
    except TRANSIENT_ERRORS as exc:
        log.warning("%s %s: storage unavailable: %s", request.method, request.path, exc)
        return _error(
            ApiError(503, "storage (Redis) is unavailable; try again shortly", headers={"Retry-After": "5"})
        )
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return _error(ApiError(500, "internal error; the details are in the service log"))


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if request.path in PUBLIC_PATHS or request.path.startswith((STATIC_PREFIX, PUBLIC_PREFIX)):
        # Health probes, the API description, static files and signed links.
        return await handler(request)
    unsafe = request.method not in SAFE_METHODS
    if unsafe and cross_site(request):
        raise ApiError(403, "a request from another site is refused")
    token = settings.api_token
    if token is None and not _is_loopback(request.remote):
        raise ApiError(403, NO_TOKEN)
    session = await session_of(request)
    if session is not None:  # the console, in a browser: the cookie alone never changes anything
        if unsafe and not await csrf_ok(request, session):
            raise ApiError(403, "the CSRF token is missing or wrong; reload the page")
        return await handler(request)
    if token is None or request.path in LOGIN_PATHS:
        return await handler(request)
    if request.method in SAFE_METHODS and not settings.api_auth_reads:
        return await handler(request)
    if not authenticated(request):
        challenge = {"WWW-Authenticate": 'Bearer realm="geoalert"'}
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "send Authorization: Bearer <GEOALERT_API_TOKEN>", headers=challenge)
        raise ApiError(401, "the bearer token is not valid", headers=challenge)
    return await handler(request)


def setup_middlewares(app: web.Application) -> None:
    app.middlewares.append(error_middleware)
    app.middlewares.append(auth_middleware)
