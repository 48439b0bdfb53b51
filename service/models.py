"""The records that travel the pipeline: articles in, alerts out.

Every model here is what goes over a Redis stream or an HTTP API as JSON, so
the field names are part of the public contract.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

ArticleField = Literal["title", "summary", "body"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def stable_id(*parts: str, length: int = 24) -> str:
    """A short deterministic id, so the same input always names the same record."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


class Article(BaseModel):
    """One normalised news article, as the poller or the push API produce it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    title: str = ""
    summary: str = ""
    body: str = ""
    url: str | None = None
    source: str | None = None
    feed: str | None = None
    published: datetime | None = None
    language: str | None = None
    story_id: str | None = None
    ingested_at: datetime = Field(default_factory=utcnow)
    quiet: str | None = Field(
        default=None,
        description="why this article raises no alert (too_old, first_poll); it is stored all the same",
    )

    def text(self, field: ArticleField) -> str:
        return str(getattr(self, field))


class Evidence(BaseModel):
    """One piece of text that made a rule part match, with where it was found."""

    part: str = Field(description="name of the rule part that matched")
    field: ArticleField
    term: str = Field(description="the rule term or list entry that matched")
    text: str = Field(description="the matched text as it stands in the article")
    start: int = Field(description="character offset of the match in the field")
    end: int
    snippet: str = Field(description="a short excerpt around the match")
    entity: str | None = Field(default=None, description="list entry id, for entity terms")
    route: str | None = Field(
        default=None, description="the rule's named alternative (route) this evidence held under"
    )


class Match(BaseModel):
    """A rule that matched one article, and why."""

    rule: str
    title: str = ""
    severity: Severity = "medium"
    tags: list[str] = Field(default_factory=list)
    route: str | None = Field(
        default=None, description="the first of the rule's named alternatives that held"
    )
    evidence: list[Evidence] = Field(default_factory=list)


class RuleRef(BaseModel):
    id: str
    title: str = ""
    severity: Severity = "medium"
    tags: list[str] = Field(default_factory=list)


class ArticleRef(BaseModel):
    id: str
    title: str = ""
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    language: str | None = None


class Alert(BaseModel):
    """A rule that fired for a story: what the dispatcher delivers."""

    id: str
    rule: RuleRef
    article: ArticleRef
    evidence: list[Evidence] = Field(default_factory=list)
    story_id: str
    created_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def from_match(cls, article: Article, match: Match) -> Alert:
        story = article.story_id or article.id
        return cls(
            # One alert per rule and story: a rewrite of the same story by
            # another outlet maps to the same id and is suppressed upstream.
            id=stable_id("alert", match.rule, story),
            rule=RuleRef(id=match.rule, title=match.title, severity=match.severity, tags=match.tags),
            article=ArticleRef(
                id=article.id,
                title=article.title,
                url=article.url,
                source=article.source,
                published=article.published,
                language=article.language,
            ),
            evidence=match.evidence,
            story_id=story,
        )
