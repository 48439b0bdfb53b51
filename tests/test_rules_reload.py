"""Rules edited under a running service: a good edit applies within seconds, a broken one is reported
and the last good rules keep running."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

from service.app import create_app
from service.keys import Keys
from service.models import utcnow
from service.typedefs import RULES
from tests.conftest import SettingsFactory
from tests.helpers import article, running, wait_until

RULE = """id: watchword
title: Watchword seen
severity: low
parts:
  word:
    any: ["{word}"]
condition: word
"""


async def alerted_titles(redis: Redis, prefix: str) -> list[str]:
    return [json.loads(e[1]["data"])["article"]["title"] for e in await redis.xrange(Keys(prefix).alerts)]


async def test_rule_edits_apply_live_and_a_broken_edit_keeps_the_last_good_rules(
    make_settings: SettingsFactory, tmp_path: Path, redis: Redis, key_prefix: str
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    rule_file = rules_dir / "watchword.yaml"
    rule_file.write_text(RULE.format(word="alpha"))
    app = create_app(make_settings(rules_dir=rules_dir, reload_interval=0.1), roles=["matcher", "api"])

    async def ingest(n: int, title: str) -> None:
        a = article(n, title=title, body=title, published=utcnow())
        await redis.xadd(Keys(key_prefix).articles, {"data": a.model_dump_json()})

    async with running(app, listen=True) as base, aiohttp.ClientSession() as http:
        await ingest(1, "alpha spotted")
        await wait_until(lambda: _has(redis, key_prefix, "alpha spotted"))

        rule_file.write_text(RULE.format(word="beta"))
        await wait_until(lambda: app[RULES].rules.match(article(0, body="beta")) != [])
        await ingest(2, "beta spotted")
        await ingest(3, "alpha again")
        await wait_until(lambda: _has(redis, key_prefix, "beta spotted"))

        rule_file.write_text(RULE.format(word="beta") + "  bogus: [unclosed\n")
        await wait_until(lambda: app[RULES].errors != [])
        async with http.get(f"{base}/healthz") as response:
            health = await response.json()
        await ingest(4, "beta still counts")
        await wait_until(lambda: _has(redis, key_prefix, "beta still counts"))

    assert "alpha again" not in await alerted_titles(redis, key_prefix)
    assert response.status == 200
    assert health["rules"]["errors"]
    assert health["rules"]["errors"][0].startswith(f"{rule_file}:")
    assert health["warnings"]


async def _has(redis: Redis, prefix: str, title: str) -> bool:
    return title in await alerted_titles(redis, prefix)
