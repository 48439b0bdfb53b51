"""``GET /v1/alerts`` filters: tag, severity, source, language, words, a relative since; and no
filter silently ignored."""

from __future__ import annotations

from redis.asyncio import Redis

from service.keys import Keys
from service.models import Alert, ArticleRef, Evidence, RuleRef, utcnow
from tests.apikit import Api


def _alert(
    n: int, *, rule: str, severity: str, tags: list[str], source: str, language: str, title: str
) -> Alert:
    return Alert(
        id=f"alert-{n}",
        rule=RuleRef(id=rule, title=rule.replace("_", " "), severity=severity, tags=tags),  # type: ignore[arg-type]
        article=ArticleRef(id=f"art-{n}", title=title, source=source, language=language, published=utcnow()),
        evidence=[
            Evidence(part="p", field="body", term="t", text="Putin", start=0, end=5, snippet="Putin said")
        ],
        story_id=f"story-{n}",
    )


ALERTS = [
    _alert(1, rule="arms_deal", severity="high", tags=["defence"], source="Wire A", language="en",
           title="Kim to send shells to Russia"),
    _alert(2, rule="leader_summit", severity="high", tags=["diplomacy"], source="Wire B", language="en-GB",
           title="Putin meets Xi in Beijing"),
    _alert(3, rule="sanctions_imposed", severity="medium", tags=["economy", "defence"], source="Wire A",
           language="de", title="EU verhängt Sanktionen"),
    _alert(4, rule="missile_or_nuclear_test", severity="critical", tags=["defence"], source="Wire C",
           language="en", title="North Korea tests a missile"),
]  # fmt: skip


async def _seed(redis: Redis, key_prefix: str) -> None:
    for alert in ALERTS:
        await redis.xadd(Keys(key_prefix).alerts, {"data": alert.model_dump_json(), "rule": alert.rule.id})


async def _ids(api: Api, query: str) -> list[str]:
    status, page = await api.call("GET", "/v1/alerts" + query)
    assert status == 200, page
    return [a["id"] for a in page["items"]]


async def test_alerts_filter_by_tag_severity_source_language_and_words(
    api: Api, redis: Redis, key_prefix: str
) -> None:
    await _seed(redis, key_prefix)
    assert await _ids(api, "?tag=defence") == ["alert-4", "alert-3", "alert-1"]
    assert await _ids(api, "?severity=high") == ["alert-2", "alert-1"]
    assert await _ids(api, "?severity=high,critical") == ["alert-4", "alert-2", "alert-1"]
    assert await _ids(api, "?min_severity=high") == ["alert-4", "alert-2", "alert-1"]
    assert await _ids(api, "?source=wire%20a") == ["alert-3", "alert-1"]
    assert await _ids(api, "?language=en") == ["alert-4", "alert-2", "alert-1"]  # en-GB is English too
    assert await _ids(api, "?q=putin%20XI") == ["alert-2"]  # every word, any case, title or evidence
    assert await _ids(api, "?tag=defence&severity=high&q=Russia") == ["alert-1"]


async def test_since_takes_an_age_like_1h_or_7d(api: Api, redis: Redis, key_prefix: str) -> None:
    await _seed(redis, key_prefix)
    assert len(await _ids(api, "?since=1h")) == 4
    assert len(await _ids(api, "?since=7d")) == 4
    status, error = await api.call("GET", "/v1/alerts?since=soon")
    assert status == 422
    assert error["error"]["fields"][0]["field"] == "since"


async def test_an_unknown_query_parameter_is_a_422_with_a_suggestion_not_everything(api: Api) -> None:
    status, error = await api.call("GET", "/v1/alerts?tags=defence&severty=high&zzz=1")
    assert status == 422
    assert error["error"]["fields"] == [
        {"field": "query.tags", "message": "unknown query parameter; did you mean 'tag'?"},
        {"field": "query.severty", "message": "unknown query parameter; did you mean 'severity'?"},
        {
            "field": "query.zzz",
            "message": "unknown query parameter; known: cursor, language, limit, min_severity, q, rule,"
            " severity, since, source, tag",
        },
    ]
    status, error = await api.call("GET", "/v1/alerts?severity=urgent")
    assert status == 422
    assert "unknown severity 'urgent'" in error["error"]["fields"][0]["message"]
