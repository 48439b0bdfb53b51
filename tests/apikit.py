"""The API role running on a real port, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.app import create_app
from service.config import Settings
from tests.conftest import SettingsFactory
from tests.helpers import running


@dataclass
class Api:
    base: str
    http: aiohttp.ClientSession
    token: str | None = None

    async def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.http.request(
            method, self.base + path, json=body, headers=headers, **kwargs
        ) as response:
            if response.content_type == "application/json":
                return response.status, await response.json()
            return response.status, await response.text()


ApiFactory = Callable[..., Any]
TOKEN = "t0ken-for-the-test-api"


@pytest.fixture
async def start_api(make_settings: SettingsFactory, tmp_path: Path) -> AsyncIterator[ApiFactory]:
    """Start the api role (plus any other roles asked for) on a free port; returns an ``Api`` client."""
    stack: list[Any] = []
    http = aiohttp.ClientSession()

    async def start(*, roles: tuple[str, ...] = ("api",), token: str | None = TOKEN, **settings: Any) -> Api:
        settings.setdefault("webhook_allow_cidrs", "127.0.0.0/8")
        settings.setdefault("fetch_allow_cidrs", "127.0.0.0/8")  # feeds added over the API, on loopback
        config: Settings = make_settings(api_token=token, **settings)
        context = running(create_app(config, roles=roles), listen=True)
        base = await context.__aenter__()
        stack.append(context)
        return Api(base, http, token)

    yield start
    for context in reversed(stack):
        await context.__aexit__(None, None, None)
    await http.close()


@pytest.fixture
async def api(start_api: ApiFactory) -> Api:
    return await start_api()  # type: ignore[no-any-return]
