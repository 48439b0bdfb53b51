"""Failover: kill -9 of the primary holding the articles stream while 2,000 articles are in flight.

With GEOALERT_REDIS_WAIT_REPLICAS=1 every article Redis acknowledged is
matched and its alerts delivered, on Sentinel and on a Redis Cluster alike.
(What is lost without WAIT is measured by bench/failover.py and reported in
docs/benchmarks.md.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.failoverkit import CountingReceiver, run_failover

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
ARTICLES = 2000


@pytest.fixture
async def receiver() -> AsyncIterator[CountingReceiver]:
    r = CountingReceiver()
    await r.start()
    yield r
    await r.stop()


@pytest.mark.parametrize("form", ["sentinel", "cluster"])
async def test_kill_9_of_the_streams_primary_loses_no_acknowledged_article_with_wait(
    form: str, tmp_path: Path, receiver: CountingReceiver
) -> None:
    outcome = await run_failover(form, tmp_path, receiver, wait_replicas=1, articles=ARTICLES)

    assert len(outcome.acknowledged) == ARTICLES
    # The kill was felt: writes failed, or the client's own retries held them, until the failover
    # (a write takes about a millisecond otherwise).
    assert outcome.write_outage_s > 1.0
    assert outcome.missing == []
    print(
        f"{form}: writes stalled for {outcome.write_outage_s:.1f}s ({outcome.failed_writes} failed tries),"
        f" all {2 * ARTICLES} alerts delivered {outcome.drain_s:.1f}s after the last write,"
        f" {outcome.duplicates} duplicate webhooks"
    )
