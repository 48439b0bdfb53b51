"""Moving a single Redis's data from the key layout before hash tags to today's (``geoalert migrate-keys``).

Before 0.2 keys had no hash tags (``geoalert:articles``, ``geoalert:delivery:ID``);
now keys that are used together share one (``geoalert:{geoalert:articles}``, see keys.py).
The old names are renamed in place: RENAME keeps a key's value, its time to
live, and a stream's consumer groups and pending entries, so work in flight
resumes where it stopped. Run it once, with the service stopped; running it
again finds nothing left to rename.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.asyncio import Redis

from service.keys import Keys

log = logging.getLogger(__name__)

_EXACT: dict[str, Callable[[Keys], str]] = {
    "articles": lambda k: k.articles,
    "articles:dead": lambda k: k.dead_letter(k.articles),
    "alerts": lambda k: k.alerts,
    "alerts:dead": lambda k: k.dead_letter(k.alerts),
    "deliveries:due": lambda k: k.deliveries_due,
    "deliveries:dead": lambda k: k.deliveries_dead,
    "deliveries:dead:now": lambda k: k.deliveries_dead_now,
    "digests:open": lambda k: k.digests_open,
    "feeds": lambda k: k.feeds,
    "feeds:version": lambda k: k.feeds_version,
    "subscriptions": lambda k: k.subscriptions,
    "subscriptions:version": lambda k: k.subscriptions_version,
    "subscriptions:disabled": lambda k: k.subscriptions_disabled,
}

# Old name's start -> new name of the rest (the part after the start, which may hold colons).
_PREFIXED: list[tuple[str, Callable[[Keys, str], str]]] = [
    ("seen:article:", lambda k, rest: k.seen_article(rest)),
    ("seen:url:", lambda k, rest: k.seen_url(rest)),
    ("seen:content:", lambda k, rest: k.seen_content(rest)),
    ("seen:alert:", lambda k, rest: k.seen_alert(rest)),
    ("story:band:", lambda k, rest: k.story_band_prefix + rest),
    ("story:sig:", lambda k, rest: k.story_signature(rest)),
    ("story:sources:", lambda k, rest: k.story_sources(rest)),
    ("deliveries:lane:", lambda k, rest: k.delivery_lane(rest)),
    ("alert:", lambda k, rest: k.alert_payload(rest)),
    ("throttle:", lambda k, rest: k.throttle(*rest.split(":", 1)) if ":" in rest else ""),
    ("digest-seen:", lambda k, rest: k.digest_seen(*rest.split(":", 1)) if ":" in rest else ""),
]


def new_name(keys: Keys, old: str) -> str | None:
    """Today's name of a key named the old way, or None when it is not one of the old names."""
    if not old.startswith(keys.prefix):
        return None
    rest = old[len(keys.prefix) :]
    if "{" in rest:
        return None  # named the new way already
    if rest in _EXACT:
        return _EXACT[rest](keys)
    for start, rename in _PREFIXED:
        if rest.startswith(start):
            return rename(keys, rest[len(start) :]) or None
    if rest.startswith("delivery:"):
        delivery_id = rest[len("delivery:") :]
        if delivery_id.endswith(":attempts"):
            return keys.delivery_attempts(delivery_id.removesuffix(":attempts"))
        return keys.delivery(delivery_id)
    if rest.startswith("subscription:") and rest.endswith(":deliveries"):
        return keys.subscription_deliveries(rest[len("subscription:") : -len(":deliveries")])
    if rest.startswith("digest:"):
        sub_id, _, start = rest[len("digest:") :].rpartition(":")
        return keys.digest(sub_id, int(start)) if sub_id and start.isdigit() else None
    if rest.startswith("feed:"):
        feed = rest[len("feed:") :]
        if feed.endswith(":lease"):
            return keys.feed_lease(feed.removesuffix(":lease"))
        return keys.feed_state(feed)
    return None


async def legacy_keys_present(redis: Redis, keys: Keys) -> bool:
    """Whether data in the old layout is waiting to be moved (a cheap look at the busiest names)."""
    probes = [f"{keys.prefix}articles", f"{keys.prefix}alerts", f"{keys.prefix}deliveries:due"]
    return bool(await redis.exists(*probes)) if not _is_cluster(redis) else False


def _is_cluster(redis: Redis) -> bool:
    from service.connections import is_cluster

    return is_cluster(redis)


async def migrate(redis: Redis, keys: Keys, *, dry_run: bool = False) -> dict[str, int]:
    """Rename every old-layout key under the prefix; returns counts of renamed and skipped keys.

    A key whose new name exists already is left as it is and counted as
    skipped (the service ran on the new layout meanwhile): nothing is overwritten.
    """
    if _is_cluster(redis):
        raise ValueError("the old key layout never ran on a cluster: there is nothing to migrate")
    counts = {"renamed": 0, "skipped": 0}
    async for raw in redis.scan_iter(match=f"{_glob_escape(keys.prefix)}*", count=1000):
        old = str(raw)
        new = new_name(keys, old)
        if new is None:
            continue
        if dry_run:
            counts["renamed"] += 1
            continue
        if await redis.renamenx(old, new):
            counts["renamed"] += 1
        else:
            counts["skipped"] += 1
            log.warning("%s not renamed: %s exists already", old, new)
    return counts


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
