"""Subscriptions made through the HTTP API, kept in Redis.

One hash holds them all (id -> JSON) and a counter is bumped with every
change, in the same transaction, so readers can cache the whole set and
re-read it only when the counter moves. Changes to one subscription are
optimistic (WATCH): two writers never lose each other's fields.

``Store`` is the narrow interface the directory and the API use, so another
backing store (or a test double) fits behind it.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import WatchError

from service.keys import Keys
from service.models import utcnow
from service.subscriptions.model import Subscription

log = logging.getLogger(__name__)


def new_subscription_id() -> str:
    # A prefix no file subscription is likely to use, so the two never collide.
    return "sub_" + secrets.token_hex(10)


class NameTaken(ValueError):
    """Another subscription already has this name."""

    def __init__(self, name: str, other_id: str) -> None:
        super().__init__(f"subscription {other_id!r} is already called {name!r}: names are unique")
        self.other_id = other_id


def _check_name(sub: Subscription, stored: Mapping[Any, Any]) -> None:
    """Raise ``NameTaken`` if a stored subscription other than ``sub`` has its name."""
    for other_id, text in stored.items():
        if str(other_id) != sub.id and json.loads(text).get("name") == sub.name:
            raise NameTaken(sub.name, str(other_id))


@dataclass
class Snapshot:
    version: int
    subscriptions: list[Subscription] = field(default_factory=list)
    file_overrides: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (fingerprint, reason)


Change = Callable[[Subscription], Subscription]


class Store(Protocol):
    async def version(self) -> int: ...
    async def snapshot(self) -> Snapshot: ...
    async def get(self, sub_id: str) -> Subscription | None: ...
    async def create(self, sub: Subscription) -> Subscription: ...
    async def update(self, sub_id: str, change: Change) -> Subscription | None: ...
    async def delete(self, sub_id: str) -> bool: ...
    async def disable_file_subscription(self, sub_id: str, fingerprint: str, reason: str) -> None: ...


class SubscriptionStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def version(self) -> int:
        return int(await self.redis.get(self.keys.subscriptions_version) or 0)

    async def snapshot(self) -> Snapshot:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.subscriptions_version)
            pipe.hgetall(self.keys.subscriptions)
            pipe.hgetall(self.keys.subscriptions_disabled)
            version, raw, disabled = await pipe.execute()
        snap = Snapshot(int(version or 0))
        for sub_id, text in sorted(raw.items()):
            try:
                snap.subscriptions.append(Subscription.model_validate_json(text))
            except ValidationError as exc:
                # A record written by another version of the service: skip it, loudly, never crash.
                log.error("stored subscription %s does not validate; skipping it: %s", sub_id, exc)
        for sub_id, text in disabled.items():
            entry = json.loads(text)
            snap.file_overrides[sub_id] = (entry["fingerprint"], entry["reason"])
        return snap

    async def get(self, sub_id: str) -> Subscription | None:
        text = await self.redis.hget(self.keys.subscriptions, sub_id)
        return None if text is None else Subscription.model_validate_json(text)

    async def create(self, sub: Subscription) -> Subscription:
        """Store a new subscription (a webhook gets its signing secret here).

        KeyError if the id exists; ``NameTaken`` if another stored subscription
        has the name, checked in the same optimistic transaction, so two
        clients creating one name at once cannot both succeed.
        """
        now = utcnow()
        sub = sub.with_secret().model_copy(update={"source": "api", "created_at": now, "updated_at": now})
        key = self.keys.subscriptions
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if await pipe.hexists(key, sub.id):
                        raise KeyError(sub.id)
                    _check_name(sub, await pipe.hgetall(key))
                    pipe.multi()  # type: ignore[no-untyped-call,unused-ignore]
                    pipe.hset(key, sub.id, sub.stored())
                    pipe.incr(self.keys.subscriptions_version)
                    await pipe.execute()
                    return sub
                except WatchError:
                    continue

    async def update(self, sub_id: str, change: Change) -> Subscription | None:
        """Apply ``change`` to the stored subscription; None if there is none.

        ``change`` may raise (a ValidationError) to refuse; it may run more
        than once when another writer got in between.
        """
        key = self.keys.subscriptions
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    text = await pipe.hget(key, sub_id)
                    if text is None:
                        return None
                    current = Subscription.model_validate_json(text)
                    changed = change(current)
                    sub = changed.model_copy(update={"id": sub_id, "source": "api", "updated_at": utcnow()})
                    if sub.name != current.name:
                        _check_name(sub, await pipe.hgetall(key))
                    pipe.multi()  # type: ignore[no-untyped-call,unused-ignore]
                    pipe.hset(key, sub_id, sub.stored())
                    pipe.incr(self.keys.subscriptions_version)
                    await pipe.execute()
                    return sub
                except WatchError:
                    continue  # someone else changed the hash meanwhile: re-read and re-apply

    async def delete(self, sub_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.subscriptions, sub_id)
            pipe.incr(self.keys.subscriptions_version)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def disable_file_subscription(self, sub_id: str, fingerprint: str, reason: str) -> None:
        entry = json.dumps({"fingerprint": fingerprint, "reason": reason, "at": utcnow().isoformat()})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.subscriptions_disabled, sub_id, entry)
            pipe.incr(self.keys.subscriptions_version)
            await pipe.execute()
