"""Issue 10, point 6: rules come from inside the rules directory only; public health never echoes a file.

``ln -s /etc/shadow rules/x.yaml`` made the loader read the target, and the
public ``/healthz`` listed one "unknown key" error per line of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from service.matching import RuleLoadError, load_rules
from tests.apikit import Api, ApiFactory
from tests.helpers import wait_until
from tests.hostile.conftest import RULE

SHADOW = "root:*:19700:0:99999:7:::\ndaemon:SECRET-MARKER:19700:0:99999:7:::\n"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "shadow").write_text(SHADOW)
    (directory / "more.yaml").write_text(SHADOW)
    return directory


def test_a_symlink_out_of_the_rules_directory_is_an_error_naming_the_link(
    small_rules: Path, outside: Path
) -> None:
    link = small_rules / "x.yaml"
    link.symlink_to(outside / "shadow")

    with pytest.raises(RuleLoadError) as raised:
        load_rules(small_rules)

    [problem] = raised.value.errors
    assert problem.path == str(link)
    assert "outside the rules directory" in problem.message
    assert "SECRET" not in str(raised.value)
    assert str(outside) not in str(raised.value)  # the link is named, not its target


def test_a_symlinked_directory_out_of_the_rules_directory_is_an_error_naming_it(
    small_rules: Path, outside: Path
) -> None:
    link = small_rules / "lists"
    link.symlink_to(outside, target_is_directory=True)

    with pytest.raises(RuleLoadError) as raised:
        load_rules(small_rules)

    [problem] = raised.value.errors
    assert problem.path == str(link)
    assert "SECRET" not in str(raised.value)


def test_symlinks_that_stay_inside_the_rules_directory_still_load(small_rules: Path) -> None:
    shared = small_rules / ".shared"  # hidden: read only through the link
    shared.mkdir()
    (shared / "other.yaml").write_text(RULE.replace("watchword", "other"))
    os.symlink(".shared/other.yaml", small_rules / "alias.yaml")

    assert {rule.id for rule in load_rules(small_rules).rules} == {"watchword", "other"}


async def _health(api: Api, *, auth: bool) -> dict[str, Any]:
    status, body = await api.call("GET", "/healthz", auth=auth)
    assert status == 200
    return body  # type: ignore[no-any-return]


async def test_public_healthz_names_the_broken_files_and_counts_errors_but_never_echoes_them(
    start_api: ApiFactory, small_rules: Path, outside: Path, tmp_path: Path
) -> None:
    feeds, subs = tmp_path / "feeds.yaml", tmp_path / "subscriptions.yaml"
    feeds.write_text("feeds: []\n")
    subs.write_text("subscriptions: []\n")
    api = await start_api(rules_dir=small_rules, feeds_file=feeds, subscriptions_file=subs)
    (small_rules / "x.yaml").symlink_to(outside / "shadow")
    (small_rules / "typo.yaml").write_text(
        RULE.replace("watchword", "typo").replace("title:", "SECRET-MARKER: 1\ntitle:")
    )
    feeds.write_text("feeds: []\nSECRET-MARKER-FEEDS: 1\n")
    subs.write_text("subscriptions: []\nSECRET-MARKER-SUBS: 1\n")

    async def all_reported() -> bool:
        body = await _health(api, auth=True)
        return bool(body["rules"]["errors"]) and len(body.get("warnings", [])) >= 3

    await wait_until(all_reported)
    public = await _health(api, auth=False)
    private = await _health(api, auth=True)

    assert "SECRET" not in str(public)
    assert public["rules"]["error_count"] == 2
    assert sorted(public["rules"]["broken_files"]) == [
        str(small_rules / "typo.yaml"),
        str(small_rules / "x.yaml"),
    ]
    assert "errors" not in public["rules"]
    assert any(str(feeds) in w for w in public["warnings"])
    assert any(str(subs) in w for w in public["warnings"])
    # with the token, the details (of files inside the rules directory only)
    assert any("SECRET-MARKER" in e for e in private["rules"]["errors"])
    assert not any("SECRET-MARKER:" in e for e in private["rules"]["errors"] if "x.yaml" in e)
    assert any("SECRET-MARKER-FEEDS" in w for w in private["warnings"])
