"""Durable delivery: the Redis-backed queue, the retry policy, the worker, and email digests."""

from service.delivery.policy import DEFAULT_SCHEDULE, RetryPolicy
from service.delivery.queue import DeliveryQueue, delivery_id_for
from service.delivery.worker import DeliveryWorker

__all__ = ["DEFAULT_SCHEDULE", "DeliveryQueue", "DeliveryWorker", "RetryPolicy", "delivery_id_for"]
