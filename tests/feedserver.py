"""A real feed server on loopback, with the good, the slow, the broken and the hostile.

A conftest plugin: every test can ask for ``server``, one running FeedServer.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def rss(items: list[dict[str, str]], *, title: str = "Test Wire", language: str | None = "en") -> str:
    def item(i: dict[str, str]) -> str:
        return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in i.items()) + "</item>"

    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link>{lang}"
        + "".join(item(i) for i in items)
        + "</channel></rss>"
    )


def news_items(n: int, *, prefix: str = "story", words: int = 60) -> list[dict[str, str]]:
    """``n`` distinct RSS items with plausible text."""
    date = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        body = " ".join(f"{prefix}{i}w{j}" for j in range(words))
        out.append(
            {
                "title": f"Headline {prefix} {i}",
                "link": f"http://example.org/{prefix}/{i}?utm_source=rss",
                "guid": f"http://example.org/{prefix}/{i}",
                "pubDate": format_datetime(date + timedelta(minutes=i)),
                "description": f"&lt;p&gt;{body}&lt;/p&gt;",
            }
        )
    return out


@dataclass
class FeedServer:
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    headers_seen: dict[str, dict[str, str]] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    base: str = ""
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.headers_seen[path] = dict(request.headers)
        handler = self.routes.get(path)
        if handler is None:
            return web.Response(status=404, text="no such feed")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await handler(request)
        finally:
            self.in_flight -= 1

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- route makers ------------------------------------------------------

    def static(
        self, path: str, body: str | bytes, *, content_type: str = "application/rss+xml", status: int = 200,
        headers: dict[str, str] | None = None, delay: float = 0.0,
    ) -> str:  # fmt: skip
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handle(request: web.Request) -> web.Response:
            if delay:
                await asyncio.sleep(delay)
            return web.Response(body=data, status=status, content_type=None, headers={
                "Content-Type": content_type, **(headers or {})
            })  # fmt: skip

        self.routes[path] = handle
        return self.url(path)

    def conditional(self, path: str, body: str, *, etag: str, last_modified: str | None = None) -> str:
        """A feed that answers 304 when the client sends back its ETag (or Last-Modified)."""

        async def handle(request: web.Request) -> web.Response:
            headers = {"ETag": etag}
            if last_modified:
                headers["Last-Modified"] = last_modified
            if request.headers.get("If-None-Match") == etag or (
                last_modified and request.headers.get("If-Modified-Since") == last_modified
            ):
                return web.Response(status=304, headers=headers)
            return web.Response(text=body, content_type="application/rss+xml", headers=headers)

        self.routes[path] = handle
        return self.url(path)

    def redirect_loop(self, path: str) -> str:
        async def handle(request: web.Request) -> web.Response:
            target = path + "/again" if not request.path.endswith("/again") else path
            raise web.HTTPFound(target)

        self.routes[path] = self.routes[path + "/again"] = handle
        return self.url(path)

    def gzip_bomb(self, path: str, expanded: int) -> str:
        """A small gzip body that expands to ``expanded`` bytes of zeros."""
        bomb = gzip.compress(b"\0" * expanded, compresslevel=9)

        async def handle(request: web.Request) -> web.Response:
            return web.Response(
                body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
            )

        self.routes[path] = handle
        return self.url(path)

    def endless(self, path: str, *, chunk: int = 64 * 1024, pause: float = 0.0, limit_s: float = 30.0) -> str:
        """A body that never ends (bounded by ``limit_s`` so the server itself stops)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await response.prepare(request)
            await response.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>')
            loop = asyncio.get_running_loop()
            deadline = loop.time() + limit_s
            while loop.time() < deadline:
                await response.write(b"a" * chunk)
                await asyncio.sleep(pause)
            return response

        self.routes[path] = handle
        return self.url(path)

    def json_feed(self, path: str, doc: dict[str, object]) -> str:
        return self.static(path, json.dumps(doc), content_type="application/feed+json")


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    s = await FeedServer().start()
    yield s
    await s.stop()
