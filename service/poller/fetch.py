"""Fetching a feed document: local files and http(s), within limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp

USER_AGENT = "geoalert/0.1 (+https://github.com/geoalert/geoalert; feed poller)"


class FetchError(Exception):
    """The document could not be fetched; ``reason`` says why in a few words."""


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5


@dataclass
class Fetched:
    url: str
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def local_path(url: str) -> Path | None:
    """The file a feed URL names, or None for a network URL."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    if len(parts.scheme) > 1:
        raise FetchError(f"unsupported URL scheme {parts.scheme!r}")
    return Path(url)


async def fetch(
    url: str,
    session: aiohttp.ClientSession,
    limits: FetchLimits,
    headers: dict[str, str] | None = None,
) -> Fetched:
    path = local_path(url)
    if path is not None:
        try:
            with path.open("rb") as fh:
                body = fh.read(limits.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(body) > limits.max_bytes:
            raise FetchError(f"document larger than {limits.max_bytes} bytes")
        return Fetched(url=url, body=body)
    timeout = aiohttp.ClientTimeout(total=limits.total_timeout, sock_connect=limits.connect_timeout)
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        async with session.get(
            url, headers=request_headers, timeout=timeout, max_redirects=limits.max_redirects
        ) as response:
            body = await response.content.read(limits.max_bytes + 1)
            if len(body) > limits.max_bytes:
                raise FetchError(f"document larger than {limits.max_bytes} bytes")
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status}")
            return Fetched(
                url=str(response.url), body=body, status=response.status, headers=dict(response.headers)
            )
    except aiohttp.TooManyRedirects:
        raise FetchError(f"more than {limits.max_redirects} redirects") from None
    except aiohttp.ClientError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    except TimeoutError:
        raise FetchError(f"timed out after {limits.total_timeout:.0f}s") from None
