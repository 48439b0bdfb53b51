"""Fetching feed documents and article pages: local files and http(s), within limits.

Every limit holds against a hostile server: connect and total timeouts, a
redirect limit, a cap on the body *after* decompression (we decompress
ourselves, a chunk at a time, never producing more than the cap), and a limit
on concurrent requests per host that is taken before the clock starts, so a
queue of feeds on one host never times out waiting for a slot. Given a
``FleetLimit``, the per-host limit holds across every poller process.

Where a request may go depends on who chose the address. A feed URL is the
operator's: it may name a private address (a local RSSHub is normal), and
its first request goes out as written. Everything else was chosen by a
server or by feed content: each redirect (followed here, one hop at a time)
and each article link fetched for its full text. Those go through the
webhooks' address guard (notifiers/ssrf.py) on a session of their own whose
resolver drops private addresses, so the addresses checked are the ones
connected to; ``GEOALERT_FETCH_ALLOW_CIDRS`` opens ranges on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiohttp
from yarl import URL

from notifiers.ssrf import ALLOWED_SCHEMES, AddressPolicy, GuardedResolver, UnsafeAddress
from service.fleetlimit import FleetLimit
from service.redact import redact_url

USER_AGENT = "geoalert/0.1 (+https://github.com/geoalert/geoalert; feed poller)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml,"
    " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_CHUNK = 64 * 1024
_REDIRECTS = frozenset([301, 302, 303, 307, 308])
# Headers that belong to the origin the operator configured; never sent to another one.
_ORIGIN_ONLY = frozenset(["authorization", "cookie", "proxy-authorization"])


class FetchError(Exception):
    """The document could not be fetched; the message says why in a few words."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429, 503)


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_redirects: int = 5
    per_host: int = 4
    concurrency: int = 32
    user_agent: str = USER_AGENT
    max_stored_bytes: int = 8 * 1024 * 1024  # what one feed document's articles may add to Redis


@dataclass
class Fetched:
    url: str
    body: bytes = b""
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


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


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Decoder:
    """Content-Encoding decoding that never yields more than ``limit`` bytes in all."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, chunk: bytes) -> bytes:
        room = self.limit + 1 - self.size
        if self._z is None:
            out = chunk[:room]
        else:
            try:
                out = self._z.decompress(chunk, room)
            except zlib.error as exc:
                raise FetchError(f"corrupt compressed body: {exc}") from None
            if self._z.unconsumed_tail:
                out += b"x"  # there is more than fits: past the limit
        self.size += len(out)
        if self.size > self.limit:
            raise FetchError(f"body larger than {self.limit} bytes (after decompression)")
        return out


def _refusal(exc: BaseException) -> str | None:
    """The guard's refusal behind a client error (its resolver's error comes wrapped), if that is the cause."""
    for cause in (getattr(exc, "os_error", None), exc.__cause__, exc.__context__):
        if isinstance(cause, UnsafeAddress):
            return str(cause)
    return None


class Fetcher:
    """Two HTTP sessions with the limits above: one for the operator's feed URLs, one guarded for the rest."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        guarded: aiohttp.ClientSession,
        limits: FetchLimits,
        policy: AddressPolicy,
        fleet: FleetLimit | None = None,
    ) -> None:
        self.session = session  # first requests to feed URLs as the operator wrote them
        self.guarded = guarded  # redirects and links from content: private addresses refused
        self.limits = limits
        self.policy = policy
        self.fleet = fleet  # with it, per_host holds across every process of the deployment
        self._all = asyncio.Semaphore(limits.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(limits.per_host)
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, limits: FetchLimits, policy: AddressPolicy | None = None, fleet: FleetLimit | None = None
    ) -> AsyncIterator[Fetcher]:
        policy = policy or AddressPolicy()
        async with (
            cls.new_session(limits) as session,
            cls.new_session(limits, GuardedResolver(policy)) as guarded,
        ):
            yield cls(session, guarded, limits, policy, fleet)

    @staticmethod
    def new_session(limits: FetchLimits, resolver: GuardedResolver | None = None) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, resolver=resolver)
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # we decompress, under the size cap
            headers={"User-Agent": limits.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookie_jar=aiohttp.DummyCookieJar(),  # feeds must not track us, nor each other
        )

    @contextlib.asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        async with self._hosts[host]:
            if self.fleet is None:
                async with self._all:
                    yield
            else:
                async with self.fleet.slot(host, self.limits.per_host), self._all:
                    yield

    async def fetch_feed(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        trusted: bool = True,
    ) -> Fetched:
        """A feed document; ``trusted``: the operator wrote the URL (or path). Redirects are always guarded."""
        path = local_path(url)
        if path is not None:
            if not trusted:
                raise FetchError("refused: only the feeds file may name a local file")
            return await asyncio.to_thread(self._read_file, url, path)
        request_headers = {"Accept": ACCEPT, **(headers or {})}
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        return await self._fetch(url, request_headers, trusted=trusted)

    async def fetch_page(self, url: str, *, accept: str) -> Fetched:
        """A page from a link found in feed content: http(s) only, through the address guard."""
        return await self._fetch(url, {"Accept": accept}, trusted=False)

    async def _fetch(self, url: str, headers: dict[str, str], *, trusted: bool) -> Fetched:
        async with self._slot(url):
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    return await self._follow(url, headers, trusted=trusted)
            except TimeoutError:
                raise FetchError(f"timed out after {self.limits.total_timeout:g}s") from None
            except UnsafeAddress as exc:
                raise FetchError(str(exc)) from None
            except aiohttp.ClientError as exc:
                refusal = _refusal(exc)
                raise FetchError(refusal or f"{type(exc).__name__}: {exc}") from None

    async def _follow(self, url: str, headers: dict[str, str], *, trusted: bool) -> Fetched:
        """GET ``url``, following redirects one hop at a time, each hop after the first guarded."""
        current = URL(url)
        for hop in range(self.limits.max_redirects + 1):
            session = self.session if trusted and hop == 0 else self._guarded_target(current)
            target = await self._get(session, current, headers)
            if isinstance(target, Fetched):
                return target
            if target.origin() != current.origin():
                headers = {k: v for k, v in headers.items() if k.lower() not in _ORIGIN_ONLY}
            current = target
        raise FetchError(f"more than {self.limits.max_redirects} redirects")

    def _guarded_target(self, url: URL) -> aiohttp.ClientSession:
        """The guarded session, once ``url`` is a scheme and address it may use (names: its resolver)."""
        if url.scheme not in ALLOWED_SCHEMES:
            raise FetchError(f"refused: {url.scheme or 'no'} scheme in {redact_url(str(url))}")
        self.policy.check_literal(url.raw_host or "")
        return self.guarded

    async def _get(self, session: aiohttp.ClientSession, url: URL, headers: dict[str, str]) -> Fetched | URL:
        """The response to one GET, or where it redirects to."""
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.limits.connect_timeout, connect=self.limits.connect_timeout
        )
        async with session.get(url, headers=headers, timeout=timeout, allow_redirects=False) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                try:
                    return url.join(URL(location))
                except ValueError:
                    raise FetchError(f"HTTP {response.status} to an invalid Location") from None
            if response.status == 304:
                return Fetched(
                    url=str(response.url),
                    status=304,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
            if response.status >= 400:
                retry_after = None
                if response.status in (429, 503):
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                raise FetchError(f"HTTP {response.status}", status=response.status, retry_after=retry_after)
            if response.status >= 300:
                raise FetchError(f"HTTP {response.status} without a usable Location", status=response.status)
            length = response.content_length
            if length is not None and length > self.limits.max_bytes:
                raise FetchError(f"body larger than {self.limits.max_bytes} bytes (Content-Length {length})")
            decoder = _Decoder(response.headers.get("Content-Encoding", ""), self.limits.max_bytes)
            parts = [decoder.feed(chunk) async for chunk in response.content.iter_chunked(_CHUNK)]
            return Fetched(
                url=str(response.url),
                body=b"".join(parts),
                status=response.status,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
            )

    def _read_file(self, url: str, path: Path) -> Fetched:
        try:
            with path.open("rb") as fh:
                body = fh.read(self.limits.max_bytes + 1)
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
        if len(body) > self.limits.max_bytes:
            raise FetchError(f"body larger than {self.limits.max_bytes} bytes")
        return Fetched(url=url, body=body)
