"""Issue 10, point 7 (and the service half of 12): reloads never block the event loop, nor get lost.

A large rule edit takes seconds to parse and compile. Done on the event loop,
it froze every request (``/livez`` included) for that long; done inside
``GET /v1/rules``, it made a read wait for it. Now the watchers load in a
thread and requests read the last good state.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import string
import time
from pathlib import Path

import aiohttp
import pytest

from service.app import create_app
from service.matching import RuleLoadError, load_rules
from service.typedefs import RULES
from tests.apikit import ApiFactory
from tests.conftest import SettingsFactory
from tests.helpers import running, wait_until
from tests.hostile.conftest import RULE

MARKER = "id: marker\ntitle: Marker\nparts:\n  w: {any: ['@huge']}\ncondition: w\n"


def huge_list(count: int) -> str:
    rng = random.Random(7)
    words = (
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
        + " "
        + "".join(rng.choices(string.ascii_lowercase, k=6))
        for _ in range(count)
    )
    return "list: huge\nterms:\n" + "".join(f"  - {w}\n" for w in words)


async def test_livez_answers_while_a_large_rule_edit_loads(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watchword.yaml").write_text(RULE)
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "huge.yaml").write_text(huge_list(20_000))
    (staged / "marker.yaml").write_text(MARKER)
    app = create_app(make_settings(rules_dir=rules, reload_interval=0.05), roles=("api", "matcher"))
    async with running(app, listen=True) as base, aiohttp.ClientSession() as http:
        latencies: list[float] = []
        rule_lists: list[list[str]] = []
        for name in ("huge.yaml", "marker.yaml"):
            shutil.copy(staged / name, rules / name)
        installed = asyncio.Event()

        async def probe_livez() -> None:
            while not installed.is_set():
                sent = time.perf_counter()
                async with http.get(f"{base}/livez") as response:
                    assert response.status == 200
                latencies.append(time.perf_counter() - sent)
                await asyncio.sleep(0.01)

        async def read_rules() -> None:
            while not installed.is_set():
                async with http.get(f"{base}/v1/rules") as response:
                    rule_lists.append([r["id"] for r in (await response.json())["items"]])
                await asyncio.sleep(0.01)

        async def wait_installed() -> float:
            await wait_until(lambda: app[RULES].rules.get("marker") is not None, timeout=120)
            installed.set()
            return time.perf_counter() - copied

        copied = time.perf_counter()
        _, _, reload_seconds = await asyncio.gather(probe_livez(), read_rules(), wait_installed())

    # Had the reload run on the loop, /livez would have waited all of it; it never stood still for
    # half of it. Measured against this reload, which a loaded machine slows as much as the probes.
    print(
        f"reload {reload_seconds:.2f}s; "
        f"/livez max {max(latencies) * 1000:.0f} ms over {len(latencies)} probes"
    )
    assert max(latencies) < max(reload_seconds / 2, 0.25)
    assert ["watchword"] in rule_lists  # reads answered from the last good rules meanwhile


DEEP_CONDITION = RULE.replace("condition: word", "condition: " + "(" * 400 + "word" + ")" * 400)
DEEP_YAML = (
    RULE + "description:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(950)) + "  " * 951 + "v\n"
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("edit", "line"), [(DEEP_CONDITION, 5), (DEEP_YAML, 6)], ids=["condition", "yaml"])
async def test_a_rule_edit_nested_hundreds_deep_is_reported_on_healthz_not_lost(
    make_settings: SettingsFactory, tmp_path: Path, edit: str, line: int
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "watchword.yaml").write_text(RULE)
    app = create_app(make_settings(rules_dir=rules), roles=("api", "matcher"))
    async with running(app, listen=True) as base, aiohttp.ClientSession() as http:
        (rules / "watchword.yaml").write_text(edit)

        async def reported() -> bool:
            async with http.get(f"{base}/healthz") as response:
                body = await response.json()
            return bool(body["rules"]["errors"])

        await wait_until(reported, timeout=20)
        async with http.get(f"{base}/healthz") as response:
            body = await response.json()
    [error] = body["rules"]["errors"]
    assert error.startswith(f"{rules / 'watchword.yaml'}:")
    assert "nested" in error.removeprefix(str(rules))


def test_rules_check_on_a_condition_nested_400_deep_is_a_located_error(tmp_path: Path) -> None:
    deep = "not " * 400 + "word"
    (tmp_path / "watchword.yaml").write_text(RULE.replace("condition: word", f"condition: {deep}"))
    with pytest.raises(RuleLoadError) as raised:
        load_rules(tmp_path)
    [error] = raised.value.errors
    assert (error.path, error.line) == (str(tmp_path / "watchword.yaml"), 5)
    assert "nested" in error.message


def test_a_term_list_longer_than_the_bound_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "huge.yaml").write_text(huge_list(50_001))
    with pytest.raises(RuleLoadError) as raised:
        load_rules(tmp_path)
    [error] = raised.value.errors
    assert error.path == str(tmp_path / "huge.yaml")
    assert "50000" in error.message


async def test_requests_answer_from_the_last_good_state_and_never_reload_themselves(
    start_api: ApiFactory, small_rules: Path, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: first\n    url: seeds/feed.xml\n")
    # the watchers would not look again within the test: whatever changes, requests alone must not reload
    api = await start_api(rules_dir=small_rules, feeds_file=feeds, reload_interval=3600)
    feeds.write_text("feeds:\n  - name: second\n    url: seeds/feed.xml\n")
    (small_rules / "marker.yaml").write_text(RULE.replace("watchword", "marker"))

    _, listed_feeds = await api.call("GET", "/v1/feeds")
    _, listed_rules = await api.call("GET", "/v1/rules")
    _, health = await api.call("GET", "/healthz")
    # the editor's reads too: a reload here would run on the event loop
    _, activity = await api.call("GET", "/v1/rules/activity")
    marker_status, _ = await api.call("GET", "/v1/rules/marker/source")

    assert [f["name"] for f in listed_feeds["feeds"]] == ["first"]
    assert [r["id"] for r in listed_rules["items"]] == ["watchword"]
    assert health["rules"]["rules"] == 1
    assert [r["rule"] for r in activity["items"]] == ["watchword"]
    assert marker_status == 404
