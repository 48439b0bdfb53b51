"""The console in a real browser: Debian's Chromium driven by Playwright, against a real service.

The service runs in a thread with its own event loop (the whole app: every
role, a real Redis), so the tests can drive the browser with Playwright's
synchronous API; ``Service.run`` hands a coroutine to the service's loop for
the few things a test does behind the page (pushing an article, starting a
webhook receiver). One browser serves the whole session; each test gets a
fresh context (cookies, storage) and its own service with its own key prefix.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis as sync_redis

from service.app import create_app
from service.config import Settings
from tests.conftest import ROOT, SettingsFactory
from tests.helpers import running

T = TypeVar("T")

CHROMIUM = Path(os.environ.get("GEOALERT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("GEOALERT_ARTIFACTS", ROOT / "tmp" / "artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Service:
    """The app running on a free port in a thread of its own."""

    def __init__(self, settings: Settings, roles: tuple[str, ...]) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._ready: Future[str] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, args=(roles,), name="service", daemon=True)
        self._thread.start()
        self.base = self._ready.result(timeout=30)

    def _main(self, roles: tuple[str, ...]) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve(roles))
        self.loop.close()

    async def _serve(self, roles: tuple[str, ...]) -> None:
        self._stop = asyncio.Event()
        try:
            async with running(create_app(self.settings, roles=roles), listen=True) as base:
                self._ready.set_result(base)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the service's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the shipped rules, so a test may save edits."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


ServiceFactory = Callable[..., Service]


@pytest.fixture
def start_service(
    make_settings: SettingsFactory, rules_copy: Path, redis_server_url: str, key_prefix: str
) -> Iterator[ServiceFactory]:
    started: list[Service] = []

    def start(*, roles: tuple[str, ...] = ("matcher", "dispatcher", "api"), **overrides: Any) -> Service:
        values: dict[str, Any] = {
            "rules_dir": rules_copy,
            "webhook_allow_cidrs": "127.0.0.0/8",
            "retry_schedule": "1,1",
            "retry_jitter": 0.0,
        }
        values.update(overrides)
        service = Service(make_settings(**values), roles)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
    client = sync_redis.Redis.from_url(redis_server_url)
    keys = list(client.scan_iter(match=f"{key_prefix}*", count=1000))
    if keys:
        client.unlink(*keys)
    client.close()


@pytest.fixture
def page_of(browser: Any) -> Iterator[Callable[..., Any]]:
    """A page in a fresh browser context (its own cookies); pass width/height for a phone."""
    contexts: list[Any] = []

    def open_page(width: int = 1280, height: int = 860, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One API request from outside the browser (as curl would make it)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
