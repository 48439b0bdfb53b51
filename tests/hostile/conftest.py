"""The API of the hostile-input suite runs a one-rule library: quicker to start than the shipped one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.apikit import Api, ApiFactory

RULE = "id: watchword\ntitle: Watchword\nparts:\n  word: {any: [watchword]}\ncondition: word\n"


@pytest.fixture
def small_rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "watchword.yaml").write_text(RULE)
    return directory


@pytest.fixture
async def api(start_api: ApiFactory, small_rules: Path) -> Api:
    return await start_api(rules_dir=small_rules)  # type: ignore[no-any-return]
