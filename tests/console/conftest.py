"""One Chromium for every console test.

Playwright's synchronous API runs an event loop of its own on the main
thread while it is open, so the browser lives only as long as this package's
tests (all synchronous); the asynchronous tests elsewhere never see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browserkit import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
