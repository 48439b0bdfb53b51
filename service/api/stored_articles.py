"""``GET /v1/articles``: the articles the stream still holds, newest first; one by its stream id.

For picking a stored article to test a rule on, and for showing an article
a backtest names. ``q`` filters on the title within a bounded scan.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, field_validator

from service.api.alert_views import STREAM_ID
from service.api.framework import ApiError, ApiRoutes, json_of, query_of
from service.api.schemas import ErrorBody
from service.models import Article
from service.typedefs import KEYS, REDIS

routes = ApiRoutes("articles")

SCAN_LIMIT = 5_000  # entries looked at per page when filtering by q


class StoredArticle(Article):
    entry: str = Field(description="the article's id in the articles stream")


class StoredArticleList(BaseModel):
    items: list[StoredArticle]
    next_cursor: str | None


class ArticleQuery(BaseModel):
    q: str | None = Field(default=None, max_length=200, description="words the title contains")
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int = Field(default=20, ge=1, le=100)

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value and not STREAM_ID.match(value):
            raise ValueError("must be a next_cursor value like 1700000000000-0")
        return value or None


@routes.route(
    "GET",
    "/v1/articles",
    summary="Stored articles, newest first (title filter q, cursor pagination)",
    query=ArticleQuery,
    responses={200: ("a page of articles", StoredArticleList)},
)
async def list_articles(request: web.Request) -> web.Response:
    query = query_of(request, ArticleQuery)
    words = (query.q or "").lower().split()
    redis, stream = request.app[REDIS], request.app[KEYS].articles
    high = f"({query.cursor}" if query.cursor else "+"
    items: list[StoredArticle] = []
    last: str | None = None
    scanned = 0
    exhausted = False
    while len(items) < query.limit and scanned < SCAN_LIMIT:
        batch = await redis.xrevrange(stream, max=high, min="-", count=200 if words else query.limit)
        if not batch:
            exhausted = True
            break
        scanned += len(batch)
        for entry_id, fields in batch:
            last = str(entry_id)
            try:
                article = Article.model_validate_json((fields or {}).get("data", ""))
            except ValidationError:
                continue
            title = article.title.lower()
            if all(w in title for w in words):
                items.append(StoredArticle(**article.model_dump(), entry=last))
                if len(items) == query.limit:
                    break
        high = f"({last}"
    return json_of(StoredArticleList(items=items, next_cursor=None if exhausted else last))


@routes.route(
    "GET",
    "/v1/articles/{entry}",
    summary="One stored article by its stream id",
    responses={200: ("the article", StoredArticle), 404: ("not stored (any more)", ErrorBody)},
)
async def get_article(request: web.Request) -> web.Response:
    entry = request.match_info["entry"]
    if not STREAM_ID.match(entry):
        raise ApiError(404, "an article is named by its stream id, like 1700000000000-0")
    found = await request.app[REDIS].xrange(request.app[KEYS].articles, min=entry, max=entry, count=1)
    if not found:
        raise ApiError(404, f"no stored article has the id {entry!r} (old articles are trimmed away)")
    try:
        article = Article.model_validate_json((found[0][1] or {}).get("data", ""))
    except ValidationError:
        raise ApiError(404, f"the entry {entry!r} is not a readable article") from None
    return json_of(StoredArticle(**article.model_dump(), entry=entry))
