"""What polling and push ingest share: the feeds, their state, and the article sink."""

from __future__ import annotations

from dataclasses import dataclass

from service.ingest.feed_directory import FeedDirectory
from service.ingest.sink import ArticleSink
from service.ingest.state import FeedStore


@dataclass
class Ingest:
    feeds: FeedDirectory
    store: FeedStore
    sink: ArticleSink
