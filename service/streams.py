"""Redis Streams: append with trimming (once only, when asked), and read a group's state.

Consuming through a consumer group lives in ``service.consumer``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.connections import FAILOVER_ERRORS
from service.lua import Script

log = logging.getLogger(__name__)

# A lost connection, a restart, or a failover in progress: the same command succeeds later.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = FAILOVER_ERRORS


@dataclass(frozen=True)
class Trim:
    """How a stream is kept bounded: by entry count or by entry age."""

    strategy: Literal["maxlen", "minid", "none"] = "maxlen"
    maxlen: int = 100_000
    retention_seconds: int = 7 * 86400

    def xadd_args(self) -> list[str]:
        """The trimming clause of XADD, approximate (``~``) so Redis trims whole nodes cheaply."""
        if self.strategy == "maxlen":
            return ["MAXLEN", "~", str(self.maxlen)]
        if self.strategy == "minid":
            oldest_ms = int(time.time() * 1000) - self.retention_seconds * 1000
            return ["MINID", "~", f"{max(oldest_ms, 0)}-0"]
        return []


def _flatten(fields: Mapping[str, str]) -> list[str]:
    flat: list[str] = []
    for key, value in fields.items():
        flat += [key, value]
    return flat


async def publish(redis: Redis, stream: str, fields: Mapping[str, str], trim: Trim) -> str:
    """Append one entry; returns its id."""
    entry_id = await redis.execute_command(  # type: ignore[no-untyped-call,unused-ignore]
        "XADD", stream, *trim.xadd_args(), "*", *_flatten(fields)
    )
    return str(entry_id)


# Marking "seen" and appending are one step (service/lua/publish_unique.lua): several
# keys can name one entry (an article's GUID, URL and content hash); if any is set,
# nothing is appended and the script says which key it was and what it holds.


@dataclass(frozen=True)
class Published:
    """What ``publish_unique`` did: appended (``entry_id``), or found a key already set."""

    entry_id: str | None
    duplicate_key: str | None = None
    duplicate_of: str | None = None  # the marker stored under duplicate_key


def publish_unique_args(
    stream: str,
    fields: Mapping[str, str],
    trim: Trim,
    *,
    dedupe_keys: Sequence[str],
    ttl_seconds: int,
    marker: str = "1",
) -> tuple[list[str], list[str]]:
    """KEYS and ARGV of the publish-unique script (for running it in a pipeline)."""
    if not dedupe_keys:
        raise ValueError("publish_unique needs at least one dedupe key")
    trim_args = trim.xadd_args()
    keys = [*dedupe_keys, stream]
    args = [str(ttl_seconds), marker, str(len(trim_args)), *trim_args, *_flatten(fields)]
    return keys, args


def published_from_reply(reply: Any, dedupe_keys: Sequence[str]) -> Published:
    if int(reply[0]) == 1:
        return Published(entry_id=str(reply[1]))
    return Published(entry_id=None, duplicate_key=dedupe_keys[int(reply[1]) - 1], duplicate_of=str(reply[2]))


async def publish_unique(
    redis: Redis,
    stream: str,
    fields: Mapping[str, str],
    trim: Trim,
    *,
    dedupe_keys: Sequence[str],
    ttl_seconds: int,
    marker: str = "1",
) -> Published:
    """Append unless any of ``dedupe_keys`` is set; otherwise set them all (to ``marker``) and append."""
    keys, args = publish_unique_args(
        stream, fields, trim, dedupe_keys=dedupe_keys, ttl_seconds=ttl_seconds, marker=marker
    )
    reply = await Script("publish_unique", redis)(keys, args)
    return published_from_reply(reply, dedupe_keys)


async def group_status(redis: Redis, stream: str, group: str) -> dict[str, Any]:
    """Pending and lag of one group, for the health endpoint and metrics."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return {"exists": False, "pending": 0, "lag": None}
    for info in groups:
        if info["name"] == group:
            lag = info.get("lag")
            if lag is None:  # Redis < 7 has no lag field: count what lies after the last delivery
                after = await redis.xrange(stream, min=f"({info['last-delivered-id']}", count=10_001)
                lag = len(after or [])
            return {
                "exists": True,
                "pending": int(info["pending"]),
                "lag": lag,
                "consumers": int(info["consumers"]),
            }
    return {"exists": False, "pending": 0, "lag": None}
