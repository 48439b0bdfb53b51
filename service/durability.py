"""Writes that must survive a failover: WAIT for replicas after them (``GEOALERT_REDIS_WAIT_REPLICAS``).

Redis replicates asynchronously: a primary acknowledges a write before any
replica has it, and a primary that dies in that moment takes the write with
it, while the replica promoted in its place never saw it. Where the pipeline
acknowledges something on the strength of a write (an article ingested, so
its feed is marked read and a pusher told 202; alerts appended, so the
article is acknowledged; deliveries queued, so the alert is), the write is
followed by ``WAIT replicas timeout`` on the same connection, and is not
taken as done until that many replicas confirm it. A confirmation short of
the count raises ``NotReplicated``, a transient error: the work is retried,
and every such write is idempotent.

On a cluster WAIT goes to the primary of the written key (same pipeline,
same connection). Note what it does not promise: a replica has the write in
memory, not on disk, and Redis may still promote a replica that lacks it if
the one that has it dies too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from service.connections import is_cluster


class NotReplicated(RedisConnectionError):
    """Fewer replicas than asked for confirmed a write in time; retried like a lost connection."""


@dataclass(frozen=True)
class Durability:
    replicas: int = 0  # 0: acknowledge on the primary's word alone (no WAIT)
    timeout_ms: int = 1000

    @property
    def waits(self) -> bool:
        return self.replicas > 0

    def queue_wait(self, redis: Any, pipe: Any, key: str) -> None:
        """Queue a mark and ``WAIT`` on ``pipe`` after the writes to ``key``'s node (no-op when not waiting).

        WAIT only covers writes made on its own connection. A retry after a
        shortfall may find its writes done already (a duplicate writes nothing)
        and run on another pooled connection; the mark, a write in the key's
        slot, comes after every earlier write to that node in its replication
        stream, so a replica that confirms it has those writes too.
        """
        if not self.waits:
            return
        mark = f"{key}:replicated"
        if is_cluster(redis):
            node = redis.get_node_from_key(key)
            pipe.set(mark, "1", px=60_000)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms, target_nodes=node)
        else:
            pipe.set(mark, "1", px=60_000)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)

    QUEUED = 2  # replies queue_wait adds to a pipeline's (the mark's, then WAIT's)

    def check(self, replicas_confirmed: Any, what: str) -> None:
        if int(replicas_confirmed) < self.replicas:
            raise NotReplicated(
                f"{what}: {replicas_confirmed} of {self.replicas} replicas confirmed within {self.timeout_ms} ms"
            )


NO_WAIT = Durability()
