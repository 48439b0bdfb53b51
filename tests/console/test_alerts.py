"""The console's Alerts page in Chromium: the timeline, live alerts, an alert in full."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.browserkit import ServiceFactory, call, screenshot
from tests.conftest import ROOT

SEED_FEED = ROOT / "seeds" / "feed.xml"


def seed_feeds(tmp_path: Path) -> Path:
    feeds = tmp_path / "seed-feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: seed\n    url: {SEED_FEED}\n    interval: 60\n")
    return feeds


def test_the_seed_alerts_appear_with_their_evidence_highlighted(
    start_service: ServiceFactory, page_of: Callable[..., Any], tmp_path: Path
) -> None:
    service = start_service(roles=("poller", "matcher", "dispatcher", "api"), feeds_file=seed_feeds(tmp_path))
    page = page_of()
    page.goto(service.base + "/")
    items = page.locator("#timeline .alert-item")
    items.nth(1).wait_for()  # the seed article raises arms_deal and leader_summit
    rules = sorted(items.nth(i).get_attribute("data-rule") for i in range(items.count()))
    assert rules == ["arms_deal", "leader_summit"]
    page.locator('#timeline .alert-item[data-rule="leader_summit"]').click()
    detail = page.locator("#detail")
    detail.locator("mark").first.wait_for()
    marked = detail.locator("mark").all_inner_texts()
    assert "Kim Jong Un" in marked
    assert "Vladimir Putin" in marked
    # The mark sits at the evidence's offsets: the text before it is the article's, untouched.
    summary = detail.locator("[data-field=summary]")
    assert "North Korean leader Kim Jong Un plans to meet" in summary.inner_text()
    assert (
        detail.get_by_text("Carried by 1 outlet").count() == 1 or detail.get_by_text("Only this").count() == 1
    )
    screenshot(page, "alerts")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "alerts-phone")


def test_an_alert_pushed_over_the_api_appears_without_a_reload(
    start_service: ServiceFactory, page_of: Callable[..., Any]
) -> None:
    service = start_service()
    page = page_of()
    page.goto(service.base + "/")
    page.locator('#live[data-state="live"]').wait_for()
    status, _ = call(
        service.base,
        "POST",
        "/v1/articles",
        {
            "source": "wire",
            "title": "Putin and Kim Jong Un met in Vladivostok",
            "body": "Putin and Kim Jong Un met in Vladivostok on Thursday.",
        },
    )
    assert status == 202
    fresh = page.locator("#timeline .alert-item.fresh")
    fresh.first.wait_for()
    assert "Vladivostok" in fresh.first.inner_text()
