"""The dispatcher stage: alerts stream -> one durable delivery per interested subscription."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from service.delivery import DeliveryQueue, DeliveryWorker
from service.models import Alert
from service.streams import Entry, Unprocessable
from service.subscriptions import Subscription

log = logging.getLogger(__name__)

SubscriptionList = Callable[[], Awaitable[list[Subscription]]]


class Dispatcher:
    def __init__(self, queue: DeliveryQueue, subscriptions: SubscriptionList, worker: DeliveryWorker) -> None:
        self.queue = queue
        self.subscriptions = subscriptions
        self.worker = worker

    async def handle(self, entry: Entry) -> None:
        try:
            alert = Alert.model_validate_json(entry.data)
        except ValidationError as exc:
            raise Unprocessable(f"not an alert: {exc.errors()[0]['msg']}") from exc
        created = 0
        for subscription in await self.subscriptions():
            if subscription.wants(alert.rule) and await self.queue.enqueue(alert, subscription):
                created += 1
        if created:
            self.worker.wake()
