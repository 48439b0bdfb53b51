"""Every page the console links to renders, for a loopback client without a token."""

from __future__ import annotations

import pytest

from service.console.pages import PAGES
from tests.apikit import ApiFactory


@pytest.mark.parametrize("path", sorted(PAGES))
async def test_every_console_page_renders(start_api: ApiFactory, path: str) -> None:
    api = await start_api(token=None)
    status, text = await api.call("GET", path, auth=False)
    assert status == 200, text[:300]
    assert "<html" in text.lower()
