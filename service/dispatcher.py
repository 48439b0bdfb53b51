"""The dispatcher stage: alerts stream -> one durable delivery per interested subscription.

Immediate subscriptions get a delivery each (one pipelined round trip for
the whole fan-out); digest subscriptions get the alert added to their
current period's digest. Delivery ids are stable, so an alert handled twice
(a redelivered stream entry) creates nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from service.consumer import Entry, Unprocessable
from service.delivery.digest import Digests
from service.delivery.queue import DeliveryQueue
from service.metrics import Metrics
from service.models import Alert
from service.subscriptions import Subscription

log = logging.getLogger(__name__)

SubscriptionList = Callable[[], Awaitable[list[Subscription]]]


class Dispatcher:
    def __init__(
        self,
        queue: DeliveryQueue,
        subscriptions: SubscriptionList,
        wake: Callable[[], None],
        metrics: Metrics,
        digests: Digests | None = None,
    ) -> None:
        self.queue = queue
        self.subscriptions = subscriptions
        self.wake = wake
        self.metrics = metrics
        self.digests = digests

    async def handle(self, entry: Entry) -> None:
        try:
            alert = Alert.model_validate_json(entry.data)
        except ValidationError as exc:
            raise Unprocessable(f"not an alert: {exc.errors()[0]['msg']}") from exc
        await self.dispatch(alert)

    async def dispatch(self, alert: Alert) -> int:
        """Queue ``alert`` for every subscription that wants it; returns deliveries created."""
        wanting = [s for s in await self.subscriptions() if s.wants(alert.rule)]
        immediate = [s for s in wanting if s.digest == "immediate" or self.digests is None]
        results = await self.queue.enqueue_many(alert, immediate, on_chunk=self.wake)
        created = sum(1 for r in results if r == 1)
        for sub, result in zip(immediate, results, strict=True):
            if result == -1:
                self.metrics.deliveries.labels(sub.channel, "throttled").inc()
        if self.digests is not None:
            for sub in wanting:
                if sub.digest != "immediate" and await self.digests.gather(alert, sub) == -1:
                    self.metrics.deliveries.labels(sub.channel, "throttled").inc()
        return created
