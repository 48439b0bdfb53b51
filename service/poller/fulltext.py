"""Full text for feeds that carry only summaries: fetch each new article's page, extract its main text.

The page is fetched like a feed (same session, limits and per-host cap) and
trafilatura extracts the main text, in a worker (it is CPU work). Any failure
keeps the feed's summary: full text is an improvement, never a reason to drop
an article.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

import trafilatura

from service.models import Article
from service.poller.fetch import Fetcher, FetchError
from service.poller.language import detect_language

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def extract_text(page: bytes, url: str | None) -> str | None:
    """The main text of an HTML page, or None when there is none to find."""
    try:
        text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False)
    except Exception as exc:  # an extractor bug must not lose the article
        log.warning("text extraction failed for %s: %s", url, exc)
        return None
    return str(text).strip() or None if text else None


class FullText:
    def __init__(self, fetcher: Fetcher, executor: Executor | None = None) -> None:
        self.fetcher = fetcher
        self.executor = executor

    async def _run(self, fn: Callable[[bytes, str | None], str | None], page: bytes, url: str) -> str | None:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, page, url)

    async def enrich_one(self, article: Article) -> Article:
        if not article.url:
            return article
        try:
            page = await self.fetcher.fetch(article.url, accept=PAGE_ACCEPT)
        except FetchError as exc:
            log.info("full text of %s not fetched: %s", article.url, exc)
            return article
        text = await self._run(extract_text, page.body, article.url)
        if not text or len(text) <= len(article.body):
            return article
        summary = article.summary or (article.body if article.body != article.title else "")
        language = article.language or detect_language(text)
        return article.model_copy(update={"body": text, "summary": summary, "language": language})

    async def enrich(self, articles: list[Article]) -> list[Article]:
        return list(await asyncio.gather(*(self.enrich_one(a) for a in articles)))
