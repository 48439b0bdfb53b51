"""What polling and push ingest share: the feeds, their state, and the article sink."""

from __future__ import annotations

from dataclasses import dataclass

from service.ingest.feeds import FeedConfig
from service.ingest.sink import ArticleSink
from service.ingest.state import FeedStore
from service.watched import WatchedFile


@dataclass
class Ingest:
    feeds: WatchedFile[list[FeedConfig]]
    store: FeedStore
    sink: ArticleSink
