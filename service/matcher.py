"""The matcher stage: articles stream -> rules -> alerts stream.

Each alert is appended at most once per rule and story (a dedupe key set in
the same step as the append), so an article delivered twice, or the same
story from a second outlet, raises nothing new.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis

from service.activity import count_alerts
from service.aio import sleep_or_stop
from service.consumer import Entry, Unprocessable
from service.durability import NO_WAIT, Durability
from service.keys import Keys
from service.lua import Script, run_pipeline
from service.matching import RuleSource
from service.metrics import Metrics
from service.models import Alert, Article
from service.streams import TRANSIENT_ERRORS, Trim, publish_unique_args, published_from_reply

log = logging.getLogger(__name__)


class Matcher:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        rules: RuleSource,
        trim: Trim,
        dedupe_ttl: int,
        metrics: Metrics,
        durability: Durability = NO_WAIT,
    ) -> None:
        self.durability = durability
        self.redis = redis
        self.keys = keys
        self.rules = rules
        self.trim = trim
        self.dedupe_ttl = dedupe_ttl
        self.metrics = metrics
        self._publish = Script("publish_unique", redis)

    def _rule_failed(self, rule_id: str) -> None:
        self.metrics.rule_errors.labels(rule_id).inc()

    async def handle(self, entry: Entry) -> None:
        try:
            article = Article.model_validate_json(entry.data)
        except ValidationError as exc:
            raise Unprocessable(
                f"not an article: {exc.error_count()} errors, first: {exc.errors()[0]['msg']}"
            ) from exc
        if article.quiet is not None:
            # Stored for the record and backtests, but too old or part of a new feed's backlog.
            log.debug("article %s: no alerts (%s)", article.id, article.quiet)
            return
        self.metrics.articles_matched.inc()
        matches = self.rules.rules.match(article, on_error=self._rule_failed)
        log.debug("article %s: %d rules matched", article.id, len(matches))
        if not matches:
            return
        alerts = [Alert.from_match(article, match) for match in matches]
        # One round trip for all of an article's alerts; each append is still atomic with its dedupe key.
        calls = [
            publish_unique_args(
                self.keys.alerts,
                # article_entry: where the article's full text lies, for the alert's page.
                {"data": alert.model_dump_json(), "rule": alert.rule.id, "article_entry": entry.id},
                self.trim,
                dedupe_keys=[self.keys.seen_alert(alert.id)],
                ttl_seconds=self.dedupe_ttl,
            )
            for alert in alerts
        ]

        def build(pipe: Any) -> None:
            for keys, args in calls:
                self._publish.queue(pipe, keys, args)

        # With WAIT on, the article is acknowledged only once replicas have its alerts.
        replies = await run_pipeline(
            self.redis, build, [self._publish], durable=(self.durability, self.keys.alerts)
        )
        raised = [
            alert
            for alert, reply in zip(alerts, replies, strict=True)
            if published_from_reply(reply, [self.keys.seen_alert(alert.id)]).entry_id is not None
        ]
        for alert in raised:
            self.metrics.alerts_raised.labels(alert.rule.id).inc()
            log.info("alert %s: %s for %r", alert.id, alert.rule.id, article.title[:80])
        if raised:
            await count_alerts(self.redis, self.keys, [a.rule.id for a in raised])

    async def publish_rules_status(self) -> None:
        errors = [str(e) for e in self.rules.errors]
        await self.redis.hset(
            self.keys.rules_status,
            mapping={
                "rules": str(len(self.rules.rules.rules)),
                "errors": json.dumps(errors),
                "lists": json.dumps([facts.to_record() for facts in self.rules.rules.compiled.list_facts]),
                "checked_at": f"{time.time():.3f}",
            },
        )

    async def watch_rules(self, stop: asyncio.Event, interval: float) -> None:
        """Publish the state of the rules for API processes; the app's rules watcher reloads them."""
        while not stop.is_set():
            try:
                await self.publish_rules_status()
            except TRANSIENT_ERRORS as exc:
                log.debug("rules status not published: %s", exc)
            await sleep_or_stop(stop, interval)
