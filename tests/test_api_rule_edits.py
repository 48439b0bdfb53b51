"""Editing rules over the API: checked like `rules check`, saved only when sound, backtested over stored articles."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from service.rulefiles import MAX_RULE_BYTES
from tests.apikit import Api, ApiFactory
from tests.conftest import ROOT

SUMMIT = "Putin and Kim Jong Un met in Vladivostok on Thursday to discuss weapons."


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


@pytest.fixture
async def api(start_api: ApiFactory, rules_dir: Path) -> Api:
    return await start_api(rules_dir=rules_dir)  # type: ignore[no-any-return]


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*"))


def _rule(examples: str = "", condition: str = "word") -> str:
    return (
        "id: vladivostok_watch\ntitle: Vladivostok\nseverity: low\n"
        "parts:\n  word: {any: [Vladivostok]}\n"
        f"condition: {condition}\n{examples}"
    )


async def test_a_broken_edit_is_reported_at_its_line_and_column_and_not_saved(
    api: Api, rules_dir: Path
) -> None:
    broken = _rule(condition="word and nowhere")
    status, body = await api.call("POST", "/v1/rules/validate", {"rule": "vladivostok_watch", "yaml": broken})
    assert status == 200, body
    assert body["ok"] is False
    [problem] = [p for p in body["problems"] if p["in_this_file"]]
    assert (problem["line"], "nowhere" in problem["message"]) == (6, True)
    status, body = await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": broken})
    assert status == 422
    assert not (rules_dir / "vladivostok_watch.yaml").exists()


async def test_an_edit_whose_examples_fail_is_not_saved(api: Api, rules_dir: Path) -> None:
    failing = _rule('examples:\n  match: ["Nothing happened in Minsk."]\n')
    status, body = await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": failing})
    assert status == 422
    assert body["error"]["fields"][0]["field"] == "examples.match[1]"
    assert not (rules_dir / "vladivostok_watch.yaml").exists()


async def test_a_sound_edit_is_saved_under_its_id_and_the_previous_version_is_kept(
    api: Api, rules_dir: Path
) -> None:
    first = _rule('examples:\n  match: ["A summit in Vladivostok."]\n')
    status, body = await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": first})
    assert status == 200, body
    assert body["saved"] is True
    second = first.replace("severity: low", "severity: high")
    assert (await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": second}))[0] == 200
    assert (rules_dir / "vladivostok_watch.yaml").read_text() == second
    [kept] = (rules_dir / ".history").glob("vladivostok_watch.*.yaml")
    assert kept.read_text() == first
    _, rule = await api.call("GET", "/v1/rules/vladivostok_watch")
    assert rule["severity"] == "high"


async def test_a_rule_file_larger_than_other_request_bodies_can_be_validated_and_saved(
    api: Api, rules_dir: Path
) -> None:
    # over the API's 64 KiB body limit once JSON escapes it, within a rule file's own limit
    big = _rule().replace("severity: low\n", "severity: low\ndescription: " + "习近平" * 10_000 + "\n")
    assert 65_536 < len(big.encode()) < MAX_RULE_BYTES
    status, body = await api.call("POST", "/v1/rules/validate", {"rule": "vladivostok_watch", "yaml": big})
    assert status == 200, body
    status, body = await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": big})
    assert status == 200, body
    assert (rules_dir / "vladivostok_watch.yaml").read_text() == big
    # other requests keep the API's own limit
    status, _ = await api.call("POST", "/v1/feeds", {"url": "https://example.com/" + "x" * 70_000})
    assert status == 413


def test_every_shipped_rule_file_fits_the_limit_of_the_editor_that_checks_and_saves_it() -> None:
    # the shipped files carry their examples and grow with them; one past the limit opens in the
    # console but is never checked ("a rule file is at most ... bytes") and cannot be saved
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        assert len(path.read_bytes()) <= MAX_RULE_BYTES, path.name


def _streamed(doc: dict[str, str]) -> dict[str, Any]:
    """A JSON body of a megabyte or more, sent from a stream (aiohttp warns of bytes that large)."""
    return {"data": io.BytesIO(json.dumps(doc).encode()), "headers": {"Content-Type": "application/json"}}


async def test_a_rule_request_past_its_own_limit_is_refused_and_nothing_is_saved(
    api: Api, rules_dir: Path
) -> None:
    # a YAML over a rule file's limit that still fits the request: 422 on the field
    over = {"yaml": "x" * (MAX_RULE_BYTES + 1024)}
    status, body = await api.call("PUT", "/v1/rules/vladivostok_watch", **_streamed(over))
    assert status == 422, body
    # a body past the rule requests' limit: 413, whatever the route does with it
    for method, path in (("PUT", "/v1/rules/vladivostok_watch"), ("POST", "/v1/rules/validate")):
        past = {"rule": "vladivostok_watch", "yaml": "习" * (MAX_RULE_BYTES // 2)}
        status, body = await api.call(method, path, **_streamed(past))
        assert status == 413, body
        assert "larger than the limit" in body["error"]["message"]
    assert not (rules_dir / "vladivostok_watch.yaml").exists()


@pytest.mark.parametrize("rule_id", ["..%2F..%2Fetc%2Fpasswd", "Leader", "a.b", "x" * 80])
async def test_a_rule_file_is_never_named_by_a_path_from_the_client(
    api: Api, rules_dir: Path, rule_id: str
) -> None:
    before = _names(rules_dir)
    status, _ = await api.call("PUT", f"/v1/rules/{rule_id}", {"yaml": _rule()})
    assert status in (404, 422)
    assert _names(rules_dir) == before


async def test_a_yaml_whose_id_differs_from_the_rule_it_saves_is_refused(api: Api, rules_dir: Path) -> None:
    status, _ = await api.call("PUT", "/v1/rules/leader_summit", {"yaml": _rule()})
    assert status in (409, 422)
    assert "vladivostok" not in (rules_dir / "leader_summit.yaml").read_text().lower()[:200]


async def test_saving_needs_the_token(api: Api, rules_dir: Path) -> None:
    status, _ = await api.call("PUT", "/v1/rules/vladivostok_watch", {"yaml": _rule()}, auth=False)
    assert status == 401
    assert not (rules_dir / "vladivostok_watch.yaml").exists()


async def test_a_backtest_shows_the_alerts_an_edit_adds_over_stored_articles(api: Api) -> None:
    items = [
        {"guid": "a1", "source": "wire", "title": "Talks in the east", "body": SUMMIT},
        {"guid": "a2", "source": "wire", "title": "Weather", "body": "Rain is expected in Minsk on Friday."},
    ]
    status, body = await api.call("POST", "/v1/articles", {"items": items})
    assert status in (200, 202), body
    async with api.http.post(
        api.base + "/v1/rules/backtest",
        json={"rule": "vladivostok_watch", "yaml": _rule()},
        headers={"Authorization": f"Bearer {api.token}"},
    ) as response:
        assert response.status == 200
        lines = [json.loads(line) for line in (await response.text()).splitlines()]
    assert lines[0]["type"] == "progress"
    result = lines[-1]
    assert result["type"] == "result"
    assert (result["scanned"], result["before"], result["after"]) == (2, 0, 1)
    assert [a["article"]["title"] for a in result["added"]] == ["Talks in the east"]
    assert result["removed"] == []


async def test_the_backtest_command_shares_the_apis_implementation(
    api: Api, rules_dir: Path, tmp_path: Path, redis_server_url: str, key_prefix: str
) -> None:
    items = [{"guid": "b1", "source": "wire", "title": "Talks in the east", "body": SUMMIT}]
    assert (await api.call("POST", "/v1/articles", {"items": items}))[0] in (200, 202)
    edited = tmp_path / "edited"
    shutil.copytree(rules_dir, edited)
    (edited / "vladivostok_watch.yaml").write_text(_rule())
    env = {**os.environ, "GEOALERT_REDIS_URL": redis_server_url, "GEOALERT_KEY_PREFIX": key_prefix}
    args = [
        "rules",
        "backtest",
        "--rules",
        str(rules_dir),
        "--against",
        str(edited),
        "--rule",
        "vladivostok_watch",
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("1 articles in ")
    assert lines[0].endswith("0 alerts in use, 1 with the edit (+1 -0)")
    assert lines[1].startswith('+ vladivostok_watch: "Talks in the east"')


async def test_an_unsaved_edit_is_explained_on_an_article_and_nothing_is_written(
    api: Api, rules_dir: Path
) -> None:
    before = _names(rules_dir)
    article = {"title": "Port call", "body": "A frigate docked in Vladivostok on Monday."}
    status, body = await api.call(
        "POST", "/v1/rules/explain", {**article, "rules": ["vladivostok_watch"], "yaml": _rule()}
    )
    assert status == 200, body
    [explained] = body["rules"]
    assert (explained["rule"], explained["matched"]) == ("vladivostok_watch", True)
    status, body = await api.call(
        "POST",
        "/v1/rules/explain",
        {**article, "rules": ["vladivostok_watch"], "yaml": _rule(condition="word and nowhere")},
    )
    assert status == 422, body
    assert "does not compile" in body["error"]["message"]
    status, body = await api.call(
        "POST", "/v1/rules/explain", {**article, "rules": ["arms_deal", "leader_summit"], "yaml": _rule()}
    )
    assert status == 422, body
    assert _names(rules_dir) == before


async def test_a_backtest_in_worker_processes_finds_what_one_process_finds(
    redis: Redis, key_prefix: str, rules_dir: Path
) -> None:
    from bench.corpus import generate
    from service.backtest import RuleRecipe, backtest, rule_sets_for
    from service.keys import Keys
    from service.matching import load_rules
    from service.models import Article, utcnow

    stream = Keys(key_prefix).articles
    now = utcnow()
    async with redis.pipeline(transaction=False) as pipe:
        for g in generate(2500, event_share=0.2, run="bt"):
            pipe.xadd(
                stream,
                {"data": Article(id=g.id, title=g.title, body=g.body, published=now).model_dump_json()},
            )
        await pipe.execute()
    edit = (
        (rules_dir / "arms_deal.yaml")
        .read_text()
        .replace("not_a_sale_nearby, not_done]", "not_a_sale_nearby]")
    )
    edits = {rules_dir / "arms_deal.yaml": edit.encode()}
    before, after = rule_sets_for(rules_dir, load_rules(rules_dir), ["arms_deal"], edits)
    recipe = RuleRecipe(rules_dir, ("arms_deal",), edits)
    one = await backtest(redis, stream, before, after, ["arms_deal"])
    several = await backtest(redis, stream, before, after, ["arms_deal"], recipe=recipe, processes=2)
    assert one.before > 0
    assert several.model_dump(exclude={"seconds"}) == one.model_dump(exclude={"seconds"})
