"""A delivery stack on real Redis and real receivers, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from notifiers.apprise import AppriseNotifier
from notifiers.base import Notifier
from notifiers.console import ConsoleNotifier
from notifiers.email import EmailNotifier, SmtpConfig
from notifiers.ssrf import AddressPolicy, parse_cidrs
from notifiers.webhook import WebhookNotifier, webhook_session
from service.delivery import DeliveryQueue, DeliveryWorker, RetryPolicy
from service.delivery.digest import Digests
from service.delivery.record import DeliveryRecord
from service.dispatcher import Dispatcher
from service.keys import Keys
from service.metrics import Metrics
from service.models import Alert, ArticleRef, Evidence, RuleRef, utcnow
from service.subscriptions import (
    Subscription,
    SubscriptionDirectory,
    SubscriptionStore,
    load_subscriptions_file,
)
from service.watched import WatchedFile
from tests.helpers import WebhookReceiver

LOOPBACK = AddressPolicy(parse_cidrs("127.0.0.0/8"))
T0 = 1_900_000_000.0  # a fixed "now" (2030), far from the real clock


@dataclass
class Clock:
    now: float = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_alert(n: int = 1, *, rule: str = "leader_summit", story: str | None = None, **article: Any) -> Alert:
    return Alert(
        id=f"alert-{rule}-{n}",
        rule=RuleRef(id=rule, title="Leaders' summit", severity="high", tags=["diplomacy"]),
        article=ArticleRef(
            id=f"art-{n}",
            title=article.pop("title", f"Leaders meet in Vladivostok ({n})"),
            url=f"https://news.example/{n}",
            source="Example News",
            published=utcnow(),
        ),
        evidence=[
            Evidence(
                part="all[0]", field="body", term="Putin", text="Putin", start=0, end=5, snippet="Putin meets"
            )
        ],
        story_id=story or f"story-{n}",
    )


@dataclass
class Kit:
    redis: Redis
    keys: Keys
    clock: Clock
    queue: DeliveryQueue
    store: SubscriptionStore
    directory: SubscriptionDirectory
    session: aiohttp.ClientSession
    metrics: Metrics
    smtp: SmtpConfig = field(default_factory=lambda: SmtpConfig(host=None))
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(jitter=0.0))
    per_endpoint: int = 8
    concurrency: int = 64
    timeout: aiohttp.ClientTimeout = field(
        default_factory=lambda: aiohttp.ClientTimeout(total=5, sock_connect=2)
    )

    address_policy: AddressPolicy = LOOPBACK
    closers: list[Callable[[], None]] = field(default_factory=list)

    def notifiers(self) -> dict[str, Notifier[Any]]:
        chat = AppriseNotifier(self.address_policy)
        self.closers.append(chat.close)
        return {
            "console": ConsoleNotifier(),
            "webhook": WebhookNotifier(self.session, LOOPBACK, timeout=self.timeout, clock=self.clock),
            "email": EmailNotifier(self.smtp),
            "apprise": chat,
        }

    def worker(self, **options: Any) -> DeliveryWorker:
        values: dict[str, Any] = {
            "policy": self.policy,
            "concurrency": self.concurrency,
            "per_endpoint": self.per_endpoint,
            "clock": self.clock,
        }
        values.update(options)
        return DeliveryWorker(self.queue, self.directory, self.notifiers(), self.metrics, **values)

    def digests(self) -> Digests:
        return Digests(self.redis, self.keys, self.directory.get)

    def dispatcher(self, worker: DeliveryWorker | None = None) -> Dispatcher:
        wake = worker.wake if worker is not None else (lambda: None)
        return Dispatcher(self.queue, self.directory.all, wake, self.metrics, self.digests())

    async def subscribe(self, **fields: Any) -> Subscription:
        fields.setdefault("name", "ops")
        sub = Subscription(**fields)
        if not fields.get("id"):
            sub = sub.model_copy(update={"id": f"sub_{sub.name}"})
        return await self.store.create(sub)

    async def delivery(self, delivery_id: str) -> DeliveryRecord:
        record = await self.queue.get(delivery_id)
        assert record is not None, f"no delivery {delivery_id}"
        return record


@pytest.fixture
async def kit(redis: Redis, key_prefix: str, tmp_path: Path) -> AsyncIterator[Kit]:
    keys = Keys(key_prefix)
    store = SubscriptionStore(redis, keys)
    directory = SubscriptionDirectory(
        WatchedFile(tmp_path / "subscriptions.yaml", load_subscriptions_file), store
    )
    session = webhook_session(LOOPBACK)
    kit = Kit(redis, keys, Clock(), DeliveryQueue(redis, keys), store, directory, session, Metrics())
    yield kit
    for close in kit.closers:
        close()
    await session.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = WebhookReceiver()
    await r.start()
    yield r
    await r.stop()
