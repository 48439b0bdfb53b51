"""Real collaborators for tests: a webhook receiver, a running app, waiting on conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from service.models import Article, utcnow


async def wait_until(
    predicate: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0, interval: float = 0.02
) -> None:
    """Wait for a condition that no event announces (e.g. state in Redis); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


@dataclass
class WebhookReceiver:
    """A real aiohttp server on loopback that records what it is sent.

    It answers ``status`` unless ``replies`` holds scripted answers (used up
    one per request) or ``respond`` builds the answer itself.
    """

    status: int = 200
    received: list[Received] = field(default_factory=list)
    url: str = ""
    replies: list[web.StreamResponse] = field(default_factory=list)
    respond: Responder | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        got = Received(dict(request.headers), body)
        async with self._changed:
            self.received.append(got)
            self._changed.notify_all()
        if self.respond is not None:
            return await self.respond(got)
        if self.replies:
            return self.replies.pop(0)
        return web.Response(status=self.status, text="ok")

    async def start(self, port: int = 0) -> str:
        """Listen on ``port`` (a free one by default; the same one again to come back after ``stop``)."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self.url

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.received) >= count), timeout)
        return self.received

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@contextlib.asynccontextmanager
async def running(app: web.Application, *, listen: bool = False) -> AsyncIterator[str]:
    """Start the app's resources and stages (and an HTTP site on a free port when ``listen``)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    base = ""
    try:
        if listen:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield base
    finally:
        await runner.cleanup()


def article(n: int = 0, **fields: Any) -> Article:
    values: dict[str, Any] = {
        "id": f"a{n}",
        "title": f"Article {n}",
        "body": "Nothing of note happened.",
        "published": utcnow(),
    }
    values.update(fields)
    return Article(**values)
