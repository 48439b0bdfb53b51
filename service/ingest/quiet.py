"""Which new articles may raise alerts: not those too old to be news, nor a new feed's backlog.

A feed added today may carry items from years ago, and its first poll would
otherwise alert on all of them at once. Such articles are still stored (the
articles stream keeps them for backtests and the API) with ``quiet`` saying
why they raise nothing; the matcher skips them and a counter counts them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from service.ingest.prepared import Prepared
from service.models import Article

TOO_OLD = "too_old"
FIRST_POLL = "first_poll"
REASON_TEXT = {TOO_OLD: "too old to alert", FIRST_POLL: "found by the feed's first poll"}


@dataclass(frozen=True)
class AlertPolicy:
    max_age: float  # seconds between publication and ingestion beyond which nothing alerts; 0: no limit
    first_poll: bool  # alert on what a feed's first successful poll finds

    def reason(self, published: float | None, now: float, *, first_poll: bool = False) -> str | None:
        """Why an article published at ``published`` (unix time) raises no alert, or None if it may."""
        if first_poll and not self.first_poll:
            return FIRST_POLL
        if self.max_age and published is not None and now - published > self.max_age:
            return TOO_OLD
        return None


def with_reason(article: Article, reason: str | None) -> Article:
    return article if reason is None else article.model_copy(update={"quiet": reason})


def quieten(
    articles: Sequence[Prepared], policy: AlertPolicy, *, first_poll: bool
) -> tuple[list[Prepared], dict[str, str]]:
    """The feed's articles, those that may not alert marked with the reason (only theirs re-serialised);
    and the reason by article id."""
    now = time.time()
    out, reasons = [], {}
    for prepared in articles:
        reason = policy.reason(prepared.published, now, first_poll=first_poll)
        if reason is not None:
            article = Article.model_validate_json(prepared.data).model_copy(update={"quiet": reason})
            prepared = prepared._replace(data=article.model_dump_json())
            reasons[prepared.id] = reason
        out.append(prepared)
    return out, reasons
