"""The Redis client every role uses."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def redis_client(url: str, *, read_timeout: float = 15.0) -> Redis:
    """A pooled client that reconnects and retries a command on a dropped connection.

    Without the retry, every pooled connection that outlived a Redis restart
    fails once on its next use. A retried command may run twice if the reply
    was lost; the pipeline is at-least-once and its writes are idempotent.
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=read_timeout,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )
