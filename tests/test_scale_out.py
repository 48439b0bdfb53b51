"""Several processes of one role share a Redis: the work is split, never repeated."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest
from redis.asyncio import Redis

from service.keys import Keys
from service.streams import Trim, publish
from tests.helpers import wait_until
from tests.processes import geoalert, service_env, summit_and_arms_article

pytestmark = pytest.mark.slow


async def test_two_matcher_processes_process_each_article_once_between_them(
    tmp_path: Path, redis: Redis, redis_server_url: str, key_prefix: str
) -> None:
    env = service_env(tmp_path, redis_url=redis_server_url, key_prefix=key_prefix, log_level="DEBUG")
    async with (
        geoalert("run", "--role", "matcher", env=env, cwd=tmp_path) as one,
        geoalert("run", "--role", "matcher", env=env, cwd=tmp_path) as two,
    ):
        await asyncio.gather(one.wait_log("running roles: matcher"), two.wait_log("running roles: matcher"))
        for n in range(500):
            await publish(redis, Keys(key_prefix).articles, {"data": summit_and_arms_article(n)}, Trim())

        async def all_alerted() -> bool:
            return await redis.xlen(Keys(key_prefix).alerts) == 1000

        await wait_until(all_alerted, timeout=60)
        assert await one.terminate() == 0
        assert await two.terminate() == 0

    matched = re.compile(r"article (fault-\d+): 2 rules matched")
    per_process = [Counter(m.group(1) for line in p.log if (m := matched.search(line))) for p in (one, two)]
    both = per_process[0] + per_process[1]
    assert len(both) == 500
    assert set(both.values()) == {1}
    assert all(len(c) > 0 for c in per_process)
