"""Full text for feeds that carry only summaries: fetch each new article's page, extract its main text.

The page is fetched like a feed (same session, limits and per-host cap) and
trafilatura extracts the main text, in a worker (it is CPU work). Any failure
keeps the feed's summary: full text is an improvement, never a reason to drop
an article.
"""

from __future__ import annotations

import asyncio
import logging

import trafilatura

from service.ingest.fetch import Fetcher, FetchError
from service.ingest.language import detect_language
from service.ingest.normalise import MAX_TEXT_CHARS, plain_text
from service.ingest.workers import WorkerDied, WorkerPool
from service.models import Article

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


def extract_text(page: bytes, url: str | None) -> str | None:
    """The main text of an HTML page, or None when there is none to find."""
    try:
        text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False)
    except Exception as exc:  # an extractor bug must not lose the article
        log.warning("text extraction failed for %s: %s", url, exc)
        return None
    if not text:
        return None
    return str(text).strip() or None


class FullText:
    def __init__(self, fetcher: Fetcher, workers: WorkerPool) -> None:
        self.fetcher = fetcher
        self.workers = workers

    async def enrich_one(self, article: Article) -> Article:
        if not article.url:
            return article
        try:
            # The link came from feed content: fetched through the address guard.
            page = await self.fetcher.fetch_page(article.url, accept=PAGE_ACCEPT)
        except FetchError as exc:
            log.info("full text of %s not fetched: %s", article.url, exc)
            return article
        try:
            text = await self.workers.run(extract_text, page.body, article.url)
        except WorkerDied as exc:
            log.warning("full text of %s not extracted: %s", article.url, exc)
            return article
        # Page text is feed content too: the same cleaning and cap as any body (normalise.py).
        text = plain_text(text)[:MAX_TEXT_CHARS] if text else None
        if not text or len(text) <= len(article.body):
            return article
        summary = article.summary or (article.body if article.body != article.title else "")
        language = article.language or detect_language(text)
        return article.model_copy(update={"body": text, "summary": summary, "language": language})

    async def enrich(self, articles: list[Article]) -> list[Article]:
        return list(await asyncio.gather(*(self.enrich_one(a) for a in articles)))
