"""Small aiohttp servers that speak the APIs of chat and push services Apprise can reach on a custom host.

Each answers the way its service does on success (ntfy: the message as JSON,
Gotify: the stored message, Mattermost: ``ok``, a generic JSON/form target:
200), or the status a test scripts in ``statuses`` (used up one per request).
Requests that do not look like the service's API get a 400, so a test also
proves Apprise spoke the API it claims to.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _ntfy(request: Request) -> web.Response | None:
    payload = request.json()
    if request.path != "/" or "topic" not in payload or "message" not in payload:
        return None
    return web.json_response({"id": "sPs71M8A2T", "event": "message", **payload})


def _gotify(request: Request) -> web.Response | None:
    if request.path != "/message" or not request.headers.get("X-Gotify-Key"):
        return None
    payload = request.json()
    if "message" not in payload:
        return None
    return web.json_response({"id": 1, "appid": 1, **payload})


def _mattermost(request: Request) -> web.Response | None:
    if not request.path.startswith("/hooks/") or "text" not in request.json():
        return None
    return web.Response(text="ok")


def _json(request: Request) -> web.Response | None:
    payload = request.json()
    return web.Response(text="ok") if "message" in payload and "title" in payload else None


def _form(request: Request) -> web.Response | None:
    return web.Response(text="ok") if b"message=" in request.body else None


API: dict[str, Callable[[Request], web.Response | None]] = {
    "ntfy": _ntfy,
    "gotify": _gotify,
    "mattermost": _mattermost,
    "json": _json,
    "form": _form,
}


@dataclass
class ServiceReceiver:
    api: str
    statuses: list[int] = field(default_factory=list)
    received: list[Request] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        got = Request(request.path, dict(request.query), dict(request.headers), await request.read())
        async with self._changed:
            self.received.append(got)
            self._changed.notify_all()
        if self.statuses:
            status = self.statuses.pop(0)
            if status != 200:
                return web.json_response(
                    {"code": status * 100 + 1, "http": status, "error": "no"}, status=status
                )
        answer = API[self.api](got)
        return answer if answer is not None else web.Response(status=400, text="not this service's API")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def service_receiver() -> AsyncIterator[Callable[..., Any]]:
    started: list[ServiceReceiver] = []

    async def start(api: str, *statuses: int) -> ServiceReceiver:
        receiver = ServiceReceiver(api, list(statuses))
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()
