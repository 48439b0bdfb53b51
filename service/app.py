"""The composition root: ``create_app(settings, roles)`` builds everything.

Each resource and each stage is one ``cleanup_ctx``: it starts in order,
and on shutdown only what started is stopped, in reverse. Stages get a stop
event, finish what they hold, and are awaited up to ``shutdown_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohttp
from aiohttp import web

from notifiers.apprise import AppriseNotifier
from notifiers.base import Notifier
from notifiers.console import ConsoleNotifier
from notifiers.email import EmailNotifier, SmtpConfig
from notifiers.ssrf import AddressPolicy
from notifiers.webhook import WebhookNotifier, webhook_session
from service import heartbeat
from service.api.routes import setup_routes
from service.config import ALL_ROLES, Settings
from service.connections import redis_client
from service.consumer import ConsumerOptions, GroupConsumer, Handler
from service.delivery import DeliveryQueue, DeliveryWorker, RetryPolicy
from service.delivery.digest import Digests, schedule_flushes
from service.dispatcher import Dispatcher
from service.durability import Durability
from service.embedded_redis import start_embedded
from service.errors import SettingsError
from service.fleetlimit import FleetLimit
from service.ingest.feed_directory import FeedDirectory, FeedRegistry
from service.ingest.feeds import load_feeds_file
from service.ingest.fetch import Fetcher, FetchLimits
from service.ingest.ingest import Ingest
from service.ingest.poller import Poller, Timing
from service.ingest.quiet import AlertPolicy
from service.ingest.sink import ArticleSink
from service.ingest.state import Backoff, FeedStore
from service.ingest.stories import StoryIndex
from service.ingest.workers import WorkerPool
from service.keymigration import legacy_keys_present
from service.keys import ALERTS_GROUP, ARTICLES_GROUP, Keys
from service.lifecycle import Stage, measure_loop_lag, set_aside_long_lived, settling, watch_file
from service.links import pause_links
from service.matcher import Matcher
from service.matching import RuleSource
from service.metrics import Metrics
from service.streams import TRANSIENT_ERRORS, Trim
from service.subscriptions import SubscriptionDirectory, SubscriptionStore, load_subscriptions_file
from service.subscriptions.model import email_without_smtp, unknown_patterns
from service.typedefs import (
    CONSUMERS,
    DELIVERY_QUEUE,
    DELIVERY_WORKER,
    FETCHGUARD,
    INGEST,
    KEYS,
    LINKS,
    METRICS,
    NETGUARD,
    POLLER,
    REDIS,
    ROLES,
    RULES,
    SETTINGS,
    SUBSCRIPTIONS,
)
from service.watched import WatchedFile

log = logging.getLogger(__name__)


def trim_of(settings: Settings) -> Trim:
    return Trim(settings.stream_trim, settings.stream_maxlen, settings.stream_retention_seconds)


def consumer_options(settings: Settings) -> ConsumerOptions:
    return ConsumerOptions(
        batch=settings.read_batch,
        block_ms=settings.read_block_ms,
        claim_idle_ms=settings.claim_idle_ms,
        max_deliveries=settings.max_deliveries,
    )


def stage_consumer(
    app: web.Application, name: str, stream: str, group: str, handler: Handler
) -> GroupConsumer:
    """The stage's consumer in its group, dead-lettering to the stream's own dead-letter stream."""
    settings, keys = app[SETTINGS], app[KEYS]
    consumer = GroupConsumer(
        app[REDIS],
        stream,
        group,
        settings.consumer_name,
        handler,
        dead_letter=keys.dead_letter(stream),
        options=consumer_options(settings),
    )
    app[CONSUMERS][name] = consumer
    return consumer


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    server = None
    if settings.redis_url is None:
        url, server = await asyncio.to_thread(start_embedded, settings.data_dir)
    else:
        url = settings.redis_url
    app[REDIS] = redis_client(url, read_timeout=settings.read_block_ms / 1000 + 10)
    try:
        legacy = await legacy_keys_present(app[REDIS], app[KEYS])
    except TRANSIENT_ERRORS:
        legacy = False  # unreachable for now: the roles ride that out, and the look is only a safeguard
    if legacy:
        await app[REDIS].aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)
        raise SettingsError(
            "this Redis holds data in the key layout of geoalert 0.1; stop every geoalert process,"
            " run `geoalert migrate-keys` once, then start again (see README, Production Redis)"
        )
    yield
    await app[REDIS].aclose()
    if server is not None:
        await asyncio.to_thread(server.stop)
        log.info("embedded Redis stopped")


async def rules_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    source = app[RULES] = await asyncio.to_thread(RuleSource, settings.rules_dir)
    log.info("loaded %d rules from %s", len(source.rules.rules), settings.rules_dir)
    set_aside_long_lived()
    # One watcher for the matcher and the API alike; requests only read the last good rules.
    stage = Stage(settings)
    stage.spawn(
        "rules-watch", lambda: watch_file(settling(source.refresh), stage.stop, settings.reload_interval)
    )
    yield
    await stage.close()


async def links_ctx(app: web.Application) -> AsyncIterator[None]:
    app[LINKS] = await pause_links(app[REDIS], app[KEYS], app[SETTINGS])
    yield


async def subscriptions_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    file = WatchedFile(settings.subscriptions_file, load_subscriptions_file)
    app[SUBSCRIPTIONS] = SubscriptionDirectory(file, SubscriptionStore(app[REDIS], app[KEYS]))
    try:
        subs = await app[SUBSCRIPTIONS].all()
    except TRANSIENT_ERRORS:
        subs = list(file.current)  # Redis comes later; the file's are known now
    if (warning := email_without_smtp(subs, settings.smtp_host)) is not None:
        log.warning("%s", warning)
    if RULES in app:  # the api role loads the rules: say which file subscriptions can never match
        for sub in file.current:
            for field, message in unknown_patterns(sub, app[RULES].rules.rules):
                log.warning(
                    "%s: subscription %r %s: %s", settings.subscriptions_file, sub.name, field, message
                )
    if settings.webhook_allow_cidrs:
        log.warning(
            "GEOALERT_WEBHOOK_ALLOW_CIDRS opens %s to webhooks despite the SSRF guard; for local use and tests only",
            ", ".join(str(n) for n in settings.webhook_allow_cidrs),
        )
    # One watcher for the dispatcher and the API alike; requests read the last good file.
    stage = Stage(settings)
    stage.spawn("subscriptions-watch", lambda: watch_file(file.refresh, stage.stop, settings.reload_interval))
    yield
    await stage.close()


async def ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    """Feeds, feed state and the article sink: shared by the poller and the push API."""
    settings, keys, redis = app[SETTINGS], app[KEYS], app[REDIS]
    stories = StoryIndex(
        redis, keys, window=settings.story_window_seconds, threshold=settings.story_threshold
    )
    sink = ArticleSink(
        redis,
        keys,
        trim_of(settings),
        settings.dedupe_ttl_seconds,
        app[METRICS],
        stories,
        durability=durability_of(settings),
    )
    feeds_file = WatchedFile(settings.feeds_file, load_feeds_file)
    app[INGEST] = Ingest(
        feeds=FeedDirectory(feeds_file, FeedRegistry(redis, keys)),
        store=FeedStore(redis, keys, owner=settings.consumer_name),
        sink=sink,
    )
    # One watcher for the poller and the API alike; requests read the last good file.
    stage = Stage(settings)
    stage.spawn(
        "feeds-file-watch", lambda: watch_file(feeds_file.refresh, stage.stop, settings.reload_interval)
    )
    yield
    await stage.close()


async def delivery_queue_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[DELIVERY_QUEUE] = DeliveryQueue(
        app[REDIS],
        app[KEYS],
        retention_seconds=settings.delivery_retention_seconds,
        durability=durability_of(settings),
    )
    yield


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        sender=settings.smtp_from,
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        timeout=settings.smtp_timeout,
        domain=settings.email_domain,
    )


def durability_of(settings: Settings) -> Durability:
    return Durability(settings.redis_wait_replicas, settings.redis_wait_timeout_ms)


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        connect_timeout=settings.fetch_connect_timeout,
        total_timeout=settings.fetch_timeout,
        max_redirects=settings.fetch_max_redirects,
        per_host=settings.fetch_per_host,
        concurrency=settings.fetch_concurrency,
        user_agent=settings.user_agent,
        max_stored_bytes=settings.feed_max_stored_bytes,
    )


async def poller_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, ingest = app[SETTINGS], app[INGEST]
    limits = fetch_limits(settings)
    workers = WorkerPool(settings.parse_processes)
    if settings.fetch_allow_cidrs:
        log.warning(
            "GEOALERT_FETCH_ALLOW_CIDRS opens %s to links in feeds and redirects despite the address guard",
            ", ".join(str(n) for n in settings.fetch_allow_cidrs),
        )
    # Per-host limits hold fleet-wide; a slot's lease outlives the longest fetch.
    fleet = FleetLimit(app[REDIS], app[KEYS], "host", lease_seconds=settings.fetch_timeout + 10)
    async with Fetcher.open(limits, app[FETCHGUARD], fleet) as fetcher:
        poller = app[POLLER] = Poller(
            ingest.feeds,
            ingest.sink,
            fetcher,
            ingest.store,
            app[METRICS],
            backoff=Backoff(
                failing_after=settings.feed_failing_after,
                max_delay=settings.feed_backoff_max,
                failing_delay=settings.feed_failing_retry,
            ),
            timing=Timing(jitter=settings.poll_jitter, startup_spread=settings.poll_startup_spread),
            workers=workers,
            alerts=AlertPolicy(max_age=settings.alert_max_age, first_poll=settings.alert_first_poll),
        )
        stage = Stage(settings)
        await ingest.feeds.sync()  # the feeds added over the API, as well as the file's
        poller.start()
        stage.spawn("feeds-watch", lambda: poller.watch(stage.stop, settings.reload_interval))
        log.info(
            "poller: %d feeds (%d from %s, %d added over the API)",
            len(ingest.feeds.current),
            len(ingest.feeds.file.current),
            settings.feeds_file,
            len(ingest.feeds.current) - len(ingest.feeds.file.current),
        )
        yield
        await poller.shutdown(settings.shutdown_timeout)
        await stage.close()
    await asyncio.to_thread(workers.close)


async def matcher_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, keys, redis = app[SETTINGS], app[KEYS], app[REDIS]
    matcher = Matcher(
        redis,
        keys,
        app[RULES],
        trim_of(settings),
        settings.dedupe_ttl_seconds,
        app[METRICS],
        durability=durability_of(settings),
    )
    consumer = stage_consumer(app, "matcher", keys.articles, ARTICLES_GROUP, matcher.handle)
    stage = Stage(settings)
    stage.spawn("matcher", lambda: consumer.run(stage.stop))
    stage.spawn("rules-watch", lambda: matcher.watch_rules(stage.stop, settings.reload_interval))
    yield
    await stage.close()


async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, keys, redis = app[SETTINGS], app[KEYS], app[REDIS]
    directory, queue = app[SUBSCRIPTIONS], app[DELIVERY_QUEUE]
    session = webhook_session(app[NETGUARD], limit=settings.delivery_concurrency * 2)
    timeout = aiohttp.ClientTimeout(
        total=settings.webhook_timeout, sock_connect=settings.webhook_connect_timeout
    )
    chat = AppriseNotifier(app[NETGUARD])
    notifiers: dict[str, Notifier[Any]] = {
        "console": ConsoleNotifier(),
        "webhook": WebhookNotifier(session, app[NETGUARD], timeout=timeout),
        "email": EmailNotifier(smtp_config(settings)),
        "apprise": chat,
    }
    policy = RetryPolicy(
        schedule=settings.retry_schedule,
        jitter=settings.retry_jitter,
        lease_seconds=settings.delivery_lease_seconds,
    )
    worker = app[DELIVERY_WORKER] = DeliveryWorker(
        queue,
        directory,
        notifiers,
        app[METRICS],
        policy=policy,
        concurrency=settings.delivery_concurrency,
        per_endpoint=settings.delivery_per_endpoint,
        links=app[LINKS],
    )
    digests = Digests(
        redis,
        keys,
        directory.get,
        retention_seconds=settings.delivery_retention_seconds,
        durability=durability_of(settings),
    )
    dispatcher = Dispatcher(queue, directory.all, worker.wake, app[METRICS], digests)
    consumer = stage_consumer(app, "dispatcher", keys.alerts, ALERTS_GROUP, dispatcher.handle)
    stage = Stage(settings)
    stage.spawn("dispatcher", lambda: consumer.run(stage.stop))
    stage.spawn("delivery", lambda: worker.run(stage.stop))
    scheduler = schedule_flushes(digests, worker.wake)
    yield
    scheduler.shutdown(wait=False)
    await stage.close()
    await session.close()
    chat.close()


async def loop_lag_ctx(app: web.Application) -> AsyncIterator[None]:
    """Measure how late the event loop wakes up: the best single sign of an overloaded process."""
    stage = Stage(app[SETTINGS])
    stage.spawn("loop-lag", lambda: measure_loop_lag(app[METRICS], stage.stop))
    yield
    await stage.close()


async def heartbeat_ctx(app: web.Application) -> AsyncIterator[None]:
    """Touch GEOALERT_HEARTBEAT_FILE while the loop runs (roles without a port have no other sign of life)."""
    path = app[SETTINGS].heartbeat_file
    stage = Stage(app[SETTINGS])
    if path is not None:
        stage.spawn("heartbeat", lambda: heartbeat.beat(path, stage.stop))
    yield
    await stage.close()


def create_app(settings: Settings, roles: Iterable[str] = ALL_ROLES) -> web.Application:
    chosen = frozenset(roles)
    unknown = chosen - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
    app = web.Application(client_max_size=settings.api_max_body_bytes)
    app[SETTINGS] = settings
    app[NETGUARD] = AddressPolicy(settings.webhook_allow_cidrs)
    app[FETCHGUARD] = AddressPolicy(settings.fetch_allow_cidrs)
    app[ROLES] = chosen
    app[KEYS] = Keys(settings.key_prefix)
    app[CONSUMERS] = {}
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(loop_lag_ctx)
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(heartbeat_ctx)
    if chosen & {"matcher", "api"}:
        app.cleanup_ctx.append(rules_ctx)
    if chosen & {"dispatcher", "api"}:
        app.cleanup_ctx.append(subscriptions_ctx)
        app.cleanup_ctx.append(delivery_queue_ctx)
        app.cleanup_ctx.append(links_ctx)
    if chosen & {"poller", "api"}:
        app.cleanup_ctx.append(ingest_ctx)
    if "poller" in chosen:
        app.cleanup_ctx.append(poller_ctx)
    if "matcher" in chosen:
        app.cleanup_ctx.append(matcher_ctx)
    if "dispatcher" in chosen:
        app.cleanup_ctx.append(dispatcher_ctx)
    if "api" in chosen:
        setup_routes(app)
    return app
