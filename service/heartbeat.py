"""A liveness signal for roles that open no port: a file touched while the event loop runs.

A container's health check cannot ask the poller, matcher or dispatcher
anything over HTTP (only the api role listens), so each process touches
GEOALERT_HEARTBEAT_FILE every few seconds from its event loop, and
``geoalert healthcheck`` fails once the file is older than a few beats: a
process whose loop is stuck or dead stops touching it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from service.aio import sleep_or_stop
from service.config import Settings

log = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
STALE_AFTER = 30.0  # six missed beats


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    now = time.time()
    os.utime(path, (now, now))


async def beat(path: Path, stop: asyncio.Event, interval: float = BEAT_SECONDS) -> None:
    while True:
        try:
            await asyncio.to_thread(touch, path)
        except OSError as exc:
            log.warning("heartbeat file %s not touched: %s", path, exc.strerror)
        if await sleep_or_stop(stop, interval):
            return


def check(settings: Settings, *, max_age: float = STALE_AFTER, now: float | None = None) -> tuple[bool, str]:
    """(healthy, why): the heartbeat file's age when one is set, else the api's /livez on this host."""
    now = time.time() if now is None else now
    if settings.heartbeat_file is not None:
        try:
            age = now - settings.heartbeat_file.stat().st_mtime
        except FileNotFoundError:
            return False, f"no heartbeat yet at {settings.heartbeat_file} (GEOALERT_HEARTBEAT_FILE)"
        if age > max_age:
            return False, f"heartbeat {age:.0f}s old at {settings.heartbeat_file} (more than {max_age:.0f}s)"
        return True, f"heartbeat {age:.0f}s old"
    url = f"http://127.0.0.1:{settings.http_port}/livez"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200, f"{url}: {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url}: {exc} (set GEOALERT_HEARTBEAT_FILE for roles without the api)"
