"""The service's Redis work on Sentinel and on a Cluster, and WAIT for replicas where writes must survive."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from service.connections import redis_client
from service.durability import Durability, NotReplicated
from service.ingest.sink import ArticleSink
from service.ingest.stories import StoryIndex
from service.keys import Keys
from service.metrics import Metrics
from service.models import Article
from service.streams import Trim
from service.subscriptions import Subscription, SubscriptionStore
from tests.topologies import Cluster, SentinelSetup


def article(n: int) -> Article:
    return Article.model_validate(
        {
            "id": f"a-{n}",
            "title": f"Leaders meet in Geneva for the {n}th round of talks on the border",
            "body": "Both delegations said the talks on the disputed border would continue next week. " * 3,
            "url": f"https://news.example/{n}",
            "source": "wire",
        }
    )


def sink(redis: Redis, keys: Keys, durability: Durability) -> ArticleSink:
    return ArticleSink(redis, keys, Trim(), 3600, Metrics(), StoryIndex(redis, keys), durability=durability)


@pytest.fixture
def keys() -> Keys:
    return Keys(f"test:{uuid.uuid4().hex[:12]}:")


@pytest.mark.parametrize("form", ["sentinel", "cluster"])
async def test_ingesting_with_wait_confirms_a_replica_has_each_article(
    form: str, request: pytest.FixtureRequest, keys: Keys
) -> None:
    topology: Cluster | SentinelSetup = request.getfixturevalue(f"redis_{form}")
    redis = redis_client(topology.url)
    try:
        done = await sink(redis, keys, Durability(replicas=1, timeout_ms=5000)).add_many(
            [article(1), article(2), article(1)]
        )
        assert [d.duplicate for d in done] == [False, False, True]
        assert await redis.xlen(keys.articles) == 2
    finally:
        await redis.aclose()


async def test_wait_for_a_replica_that_is_not_there_fails_as_a_transient_error(
    redis_server_url: str, keys: Keys
) -> None:
    redis = redis_client(redis_server_url)  # one server: no replica can confirm
    try:
        with pytest.raises(NotReplicated, match="0 of 1 replicas"):
            await sink(redis, keys, Durability(replicas=1, timeout_ms=50)).add(article(3))
        # The write itself happened: a retry finds the article ingested, as retries of these writes do.
        assert (await sink(redis, keys, Durability()).add(article(3))).duplicate
    finally:
        await redis.delete(*[k async for k in redis.scan_iter(match=f"{keys.prefix}*")])
        await redis.aclose()


async def test_subscription_transactions_run_on_a_cluster(redis_cluster: Cluster, keys: Keys) -> None:
    """MULTI and WATCH on a cluster: every key of the transaction shares the {deliveries} slot."""
    redis = redis_client(redis_cluster.url)
    store = SubscriptionStore(redis, keys)
    try:
        created = await store.create(Subscription(id="sub_c", name="ops", rules=["*"], console={}))
        version = await store.version()
        updated = await store.update(created.id, lambda s: s.model_copy(update={"name": "ops-2"}))
        assert updated is not None
        assert updated.name == "ops-2"
        assert await store.version() == version + 1
        assert [s.name for s in (await store.snapshot()).subscriptions] == ["ops-2"]
        assert await store.delete(created.id)
    finally:
        await redis.aclose()
