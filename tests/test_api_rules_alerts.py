"""``/v1/rules`` and ``/v1/alerts``: the rule library, a dry run on an article, and the alert history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from service.keys import Keys
from tests.apikit import Api
from tests.deliverykit import make_alert

SUMMIT = {
    "title": "Kim Jong Un meets Putin in Vladivostok",
    "body": "Russian President Vladimir Putin and North Korean leader Kim Jong Un met in Vladivostok on Wednesday "
    "and discussed North Korea supplying artillery shells and missiles to Russia for its war in Ukraine.",
}


async def test_the_rules_in_use_are_listed_and_each_can_be_read(api: Api) -> None:
    status, listed = await api.call("GET", "/v1/rules")

    assert status == 200
    assert {r["id"] for r in listed["items"]} >= {"leader_summit", "arms_deal"}
    assert listed["errors"] == []
    status, rule = await api.call("GET", "/v1/rules/arms_deal")
    assert status == 200
    assert rule["severity"] == "high"
    status, error = await api.call("GET", "/v1/rules/nope")
    assert status == 404
    assert "'nope'" in error["error"]["message"]


async def test_an_article_can_be_tried_against_the_rules_with_evidence_back(api: Api) -> None:
    status, result = await api.call("POST", "/v1/rules/test", SUMMIT)

    assert status == 200
    matched = {m["rule"]: m for m in result["matches"]}
    assert set(matched) == {"leader_summit", "arms_deal"}
    evidence = matched["leader_summit"]["evidence"]
    assert evidence
    assert {"part", "field", "text", "start", "end", "snippet"} <= set(evidence[0])


async def test_trying_an_article_checks_its_fields(api: Api) -> None:
    status, error = await api.call("POST", "/v1/rules/test", {"title": 42})
    assert status == 422
    assert error["error"]["fields"][0]["field"] == "title"


async def _raise(redis: Redis, keys: Keys, n: int, rule: str) -> None:
    alert = make_alert(n, rule=rule)
    await redis.xadd(keys.alerts, {"data": alert.model_dump_json(), "rule": rule})


async def test_alerts_page_newest_first_by_cursor(api: Api, redis: Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    for n in range(5):
        await _raise(redis, keys, n, "leader_summit")

    ids: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await api.call("GET", "/v1/alerts" + query)
        assert status == 200
        ids += [a["article"]["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert ids == [f"art-{n}" for n in reversed(range(5))]


async def test_alerts_filter_by_rule_and_time(api: Api, redis: Redis, key_prefix: str) -> None:
    keys = Keys(key_prefix)
    for n in range(6):
        await _raise(redis, keys, n, "arms_deal" if n % 2 else "leader_summit")

    _, arms = await api.call("GET", "/v1/alerts?rule=arms_deal")
    assert [a["rule"]["id"] for a in arms["items"]] == ["arms_deal"] * 3
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    _, none = await api.call("GET", "/v1/alerts", params={"since": future})
    assert none == {"items": [], "next_cursor": None}


async def test_bad_alert_queries_name_the_parameter(api: Api) -> None:
    for query, field in [
        ("?cursor=yesterday", "cursor"),
        ("?limit=0", "limit"),
        ("?since=2026-01-01T00:00:00", "since"),
    ]:
        status, error = await api.call("GET", "/v1/alerts" + query)
        assert status == 422, query
        assert error["error"]["fields"][0]["field"] == field


async def test_an_article_can_be_explained_rule_by_rule(api: Api) -> None:
    phone_call = {
        "title": "Putin and Kim Jong Un speak",
        "body": "Russian President Vladimir Putin and North Korean leader Kim Jong Un held talks by telephone.",
        "published": "2024-06-01T00:00:00Z",
        "rules": ["leader_summit"],
    }
    status, result = await api.call("POST", "/v1/rules/explain", phone_call)

    assert status == 200
    [rule] = result["rules"]
    assert rule["rule"] == "leader_summit"
    assert rule["matched"] is False
    # the call undoes the meeting words of its clause: each is shown with the guard and the word
    assert {(g["occurrence"]["text"], g["guard"], g["by"]["text"]) for g in rule["guarded"]} == {
        ("held talks", "by_phone", "telephone"),
        ("talks", "by_phone", "telephone"),
    }
    meeting = next(route for route in rule["routes"] if route["route"] == "meeting")
    assert [w["missing"] for w in meeting["windows"]] == ["meeting"]
    status, error = await api.call("POST", "/v1/rules/explain", {**phone_call, "rules": ["nope"]})
    assert status == 404
    assert "'nope'" in error["error"]["message"]
    status, error = await api.call("POST", "/v1/rules/explain", {**phone_call, "rules": "x" * 10})
    assert status == 422
    assert error["error"]["fields"][0]["field"] == "rules"


async def test_health_names_unverified_list_entries_by_place_only(api: Api) -> None:
    status, health = await api.call("GET", "/healthz", auth=False)

    assert status == 200
    lists = health["rules"]["lists"]
    assert lists["unverified"] > 0
    assert all(":" in place for place in lists["unverified_at"])
    assert "unverified" not in str(lists["unverified_at"])  # no notes: anyone may read /healthz
    assert any("marked unverified" in warning for warning in health["warnings"])
