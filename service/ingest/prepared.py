"""An article made ready for the sink: its stream entry, its identities and its signature, as plain values.

The poller parses feeds in worker processes, and what a worker returns is
pickled there and unpickled in the poller: a tuple of strings costs a
fraction of a model to move. It also carries the work the sink would
otherwise do in the poller's event loop, which runs on one core for every
feed: the JSON of the stream entry, the digests of the exact-duplicate
identities and the MinHash signature are all computed where the article
was parsed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from service.ingest.minhash import signatures as sign
from service.ingest.normalise import IdentityKind, identity_keys, title_key
from service.models import Article

# Where the sink writes the story it assigns, in the entry's JSON. In JSON every
# quote inside a string is escaped, so these characters, unescaped, can only be
# the key itself.
STORY_SLOT = '"story_id":null'


class Prepared(NamedTuple):
    id: str
    data: str  # the article's JSON (the stream entry), with STORY_SLOT for the sink to fill in
    url: str  # digest of the canonical URL, "" when it has none
    content: str  # digest of the text, "" when too short to hash
    signature: str  # MinHash (minhash.py), "" when the text is too short
    published: float | None  # unix time
    source: str  # whose the story is, for the story's count of sources
    story: str  # the article's own story_id, kept when the sink assigns none; "" normally
    origin: str  # for metrics: the feed, or "push"
    title: str = ""  # title_key (normalise.py): a URL identity held by another headline is checked

    @property
    def identities(self) -> list[IdentityKind]:
        """The kinds of identities the article has, in the order the sink checks them."""
        kinds: list[IdentityKind] = ["id"]
        if self.url:
            kinds.append("url")
        if self.content:
            kinds.append("content")
        return kinds

    def article(self) -> Article:
        return Article.model_validate_json(self.data).model_copy(update={"story_id": self.story or None})


def prepare(articles: Sequence[Article], signatures: Sequence[str | None] | None = None) -> list[Prepared]:
    """Each article as the sink takes it; ``signatures`` are computed here when not given."""
    if signatures is None:
        signatures = sign((a.title, a.body) for a in articles)
    out = []
    for article, signature in zip(articles, signatures, strict=True):
        identities = identity_keys(article)
        story = article.story_id
        if story is not None:
            article = article.model_copy(update={"story_id": None})
        out.append(
            Prepared(
                id=article.id,
                data=article.model_dump_json(),
                url=identities.get("url", ""),
                content=identities.get("content", ""),
                signature=signature or "",
                published=article.published.timestamp() if article.published else None,
                source=article.source or article.feed or "unknown",
                story=story or "",
                origin=article.feed or "push",
                title=title_key(article.title),
            )
        )
    return out


def within_budget(articles: list[Prepared], budget: int) -> tuple[list[Prepared], int]:
    """The articles, in order, whose entries together take at most ``budget`` bytes; and how many were left out.

    Every field of an article is capped (normalise.py), but a document of a
    thousand items, each at its caps, would still add hundreds of megabytes
    to Redis: this bounds what one document may add.
    """
    kept, used = [], 0
    for article in articles:
        used += len(article.data.encode())
        if used > budget:
            break
        kept.append(article)
    return kept, len(articles) - len(kept)
