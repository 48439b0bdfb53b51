"""Every feed to poll: the feeds file's, read-only, and those added through the HTTP API.

The file belongs to the operator (it may live in an image or in git), so the
service never writes it; feeds added over the API live in Redis, one hash
(name -> JSON) and a counter bumped in the same transaction, so every poller
re-reads the set only when the counter moves. A name is unique across both:
the API refuses a name the file uses, and if the file later takes a name the
API had, the file's feed wins and the API's is reported as shadowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import WatchError

from service.errors import FileProblem
from service.ingest.feeds import FeedConfig
from service.keys import Keys
from service.watched import WatchedFile

log = logging.getLogger(__name__)

FeedSource = Literal["file", "api"]

# A bound on what API clients may add: each feed is a scheduled job and a fetch.
MAX_API_FEEDS = 5_000


class FeedExists(Exception):
    """A feed of that name is already configured (in the file or through the API)."""


class TooManyFeeds(Exception):
    """The API's share of feeds is full."""


@dataclass(frozen=True)
class FeedEntry:
    feed: FeedConfig
    source: FeedSource


class FeedRegistry:
    """The feeds added through the HTTP API, in Redis."""

    def __init__(self, redis: Redis, keys: Keys, *, limit: int = MAX_API_FEEDS) -> None:
        self.redis, self.keys, self.limit = redis, keys, limit

    async def version(self) -> int:
        return int(await self.redis.get(self.keys.feeds_version) or 0)

    async def snapshot(self) -> tuple[int, list[FeedConfig]]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.feeds_version)
            pipe.hgetall(self.keys.feeds)
            version, raw = await pipe.execute()
        feeds: list[FeedConfig] = []
        for name, text in sorted(raw.items()):
            try:
                feeds.append(FeedConfig.model_validate_json(text))
            except ValidationError as exc:
                # Written by another version of the service: skip it, loudly, never crash.
                log.error("stored feed %s does not validate; skipping it: %s", name, exc)
        return int(version or 0), feeds

    async def get(self, name: str) -> FeedConfig | None:
        text = await self.redis.hget(self.keys.feeds, name)
        return None if text is None else FeedConfig.model_validate_json(text)

    async def add(self, feeds: list[FeedConfig], *, replace: bool = False) -> None:
        """Store feeds at once (all or none); FeedExists when one is taken and ``replace`` is off."""
        if not feeds:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.keys.feeds)
                    names = [f.name for f in feeds]
                    present = await pipe.hmget(self.keys.feeds, names)
                    taken = [n for n, p in zip(names, present, strict=True) if p is not None]
                    if taken and not replace:
                        raise FeedExists(taken[0])
                    if await pipe.hlen(self.keys.feeds) + len(feeds) - len(taken) > self.limit:
                        raise TooManyFeeds(f"at most {self.limit} feeds can be added through the API")
                    pipe.multi()  # type: ignore[no-untyped-call,unused-ignore]
                    pipe.hset(self.keys.feeds, mapping={f.name: f.model_dump_json() for f in feeds})
                    pipe.incr(self.keys.feeds_version)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def remove(self, name: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.feeds, name)
            pipe.incr(self.keys.feeds_version)
            removed, _ = await pipe.execute()
        return bool(removed)


class FeedDirectory:
    """The feeds file and the registry as one list, rebuilt only when either changes.

    ``current`` is a new list object exactly when something changed, so the
    poller can compare it by identity to know when to reschedule.
    """

    def __init__(self, file: WatchedFile[list[FeedConfig]], registry: FeedRegistry | None = None) -> None:
        self.file = file
        self.registry = registry
        self._api: list[FeedConfig] = []
        self._api_version: int | None = None
        self._file_seen: list[FeedConfig] | None = None
        self.entries: list[FeedEntry] = []
        self.current: list[FeedConfig] = []
        self.shadowed: list[str] = []  # API feeds hidden by a file feed of the same name
        self._rebuild()

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def problems(self) -> list[FileProblem]:
        return self.file.problems

    def refresh(self) -> bool:
        """Re-read the feeds file if it changed (the registry needs ``sync``)."""
        changed = self.file.refresh()
        if self.file.current is not self._file_seen:
            self._rebuild()
        return changed

    async def sync(self) -> bool:
        """Take in the file's last good version and, when its counter moved, the registry.

        True when the list changed. The file itself is reloaded by its watcher,
        in a thread: never here, where an API request or the poller waits.
        """
        before = self.current
        if self.file.current is not self._file_seen:
            self._rebuild()
        if self.registry is not None:
            version = await self.registry.version()
            if version != self._api_version:
                self._api_version, self._api = await self.registry.snapshot()
                self._rebuild()
        return self.current is not before

    def source_of(self, name: str) -> FeedSource | None:
        return next((e.source for e in self.entries if e.feed.name == name), None)

    def find(self, name: str) -> FeedEntry | None:
        return next((e for e in self.entries if e.feed.name == name), None)

    def _rebuild(self) -> None:
        file_feeds = self.file.current
        self._file_seen = file_feeds
        taken = {f.name for f in file_feeds}
        entries = [FeedEntry(f, "file") for f in file_feeds]
        shadowed = []
        for feed in self._api:
            if feed.name in taken:
                shadowed.append(feed.name)
                continue
            entries.append(FeedEntry(feed, "api"))
        if shadowed and shadowed != self.shadowed:
            log.warning(
                "the feeds file now declares %s, which the API had added; the file's version is polled",
                ", ".join(shadowed),
            )
        self.entries, self.shadowed = entries, shadowed
        self.current = [e.feed for e in entries]
