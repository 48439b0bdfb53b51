"""The Subscriptions page in Chromium: create, the secret once, a signed test event, redelivery."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.browserkit import Service, ServiceFactory, call, screenshot
from tests.helpers import WebhookReceiver

ReceiverFactory = Callable[..., WebhookReceiver]


@pytest.fixture
def start_receiver(start_service: ServiceFactory) -> Iterator[ReceiverFactory]:
    """Real webhook receivers, on a service's loop (so tests wait on them through service.run)."""
    started: list[tuple[Service, WebhookReceiver]] = []

    def start(service: Service, status: int = 200) -> WebhookReceiver:
        async def listen() -> WebhookReceiver:
            receiver = WebhookReceiver(status=status)
            await receiver.start()
            return receiver

        receiver = service.run(listen())
        started.append((service, receiver))
        return receiver

    yield start
    for service, receiver in started:
        service.run(receiver.stop())


def delivery_rows(page: Any, status: str) -> Any:
    return page.locator(f'#log-table tr[data-status="{status}"]')


def wait_for_row(page: Any, status: str, timeout: float = 20.0) -> Any:
    """Refresh the delivery log until a delivery shows ``status``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.locator("#log-refresh").click()
        if delivery_rows(page, status).count():
            return delivery_rows(page, status).first
        time.sleep(0.3)
    raise AssertionError(f"no {status} delivery within {timeout} s")


def create(page: Any, name: str, url: str) -> str:
    """Create a webhook subscription to two rules in the page; return the secret it shows once."""
    page.locator("#new-sub").click()
    page.locator("#sub-name").fill(name)
    page.locator("#sub-target").fill(url)
    page.get_by_role("checkbox", name="Arms deal").check()
    page.get_by_role("checkbox", name="Leaders' summit").check()
    page.locator("#sub-severity").select_option("medium")
    page.locator("#sub-save").click()
    page.locator("#secret-box").wait_for()
    return str(page.locator("#secret-value").inner_text())


def test_a_subscription_made_in_the_page_receives_a_signed_test_event(
    start_service: ServiceFactory, page_of: Callable[..., Any], start_receiver: ReceiverFactory
) -> None:
    service = start_service()
    receiver = start_receiver(service)
    page = page_of()
    page.goto(service.base + "/subscriptions")
    page.locator("body[data-loaded]").wait_for()
    secret = create(page, "newsroom desk", receiver.url)
    assert secret.startswith("whsec_")
    row = page.locator('#subs-table tr[data-name="newsroom desk"]')
    assert "arms_deal" in row.inner_text()
    screenshot(page, "subscriptions")
    # The secret is not shown again: neither after a reload nor by the API.
    page.locator("#secret-done").click()
    page.reload()
    page.locator("body[data-loaded]").wait_for()
    assert page.locator("#secret-box").is_hidden()
    _, listed = call(service.base, "GET", "/v1/subscriptions")
    assert secret not in str(listed)

    page.get_by_role("button", name="Send a test event to newsroom desk").click()
    (got,) = service.run(receiver.wait_for(1))
    event = Webhook(secret).verify(got.body, got.headers)
    assert event["data"]["rule"]["id"] == "test_event"
    assert "newsroom desk" in event["data"]["article"]["title"]
    delivered = wait_for_row(page, "delivered")
    assert "HTTP 200" in delivered.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "subscriptions-phone")


def test_a_dead_letter_is_redelivered_from_the_page_once_the_receiver_is_fixed(
    start_service: ServiceFactory, page_of: Callable[..., Any], start_receiver: ReceiverFactory
) -> None:
    service = start_service()
    receiver = start_receiver(service, status=503)
    page = page_of()
    page.goto(service.base + "/subscriptions")
    page.locator("body[data-loaded]").wait_for()
    secret = create(page, "flaky", receiver.url)
    page.get_by_role("button", name="Send a test event to flaky").click()
    dead = wait_for_row(page, "dead")
    assert "HTTP 503" in dead.inner_text()
    attempts = len(receiver.received)
    receiver.status = 200
    dead.get_by_role("button", name="Redeliver test_event").click()
    wait_for_row(page, "delivered")
    got = service.run(receiver.wait_for(attempts + 1))[-1]
    assert Webhook(secret).verify(got.body, got.headers)["data"]["rule"]["id"] == "test_event"


def test_a_subscription_is_paused_edited_and_deleted_from_the_page(
    start_service: ServiceFactory, page_of: Callable[..., Any]
) -> None:
    service = start_service(roles=("api",))
    page = page_of()
    page.goto(service.base + "/subscriptions")
    page.locator("body[data-loaded]").wait_for()
    create(page, "desk", "https://hooks.example.org/geo")
    page.get_by_role("button", name="Pause desk").click()
    page.get_by_role("button", name="Resume desk").wait_for()
    assert page.get_by_role("button", name="Send a test event to desk").is_disabled()
    page.get_by_role("button", name="Edit desk").click()
    page.get_by_role("checkbox", name="Arms deal").uncheck()
    page.locator("#sub-save").click()
    page.locator('#subs-table tr[data-name="desk"]').get_by_text("arms_deal").wait_for(state="detached")
    _, listed = call(service.base, "GET", "/v1/subscriptions")
    [desk] = [s for s in listed["items"] if s["name"] == "desk"]
    assert (desk["rules"], desk["enabled"], desk["webhook"]["url"]) == (
        ["leader_summit"],
        False,
        "https://hooks.example.org/geo",
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete desk").click()
    page.locator('#subs-table tr[data-name="desk"]').wait_for(state="detached")
    _, listed = call(service.base, "GET", "/v1/subscriptions")
    assert "desk" not in [s["name"] for s in listed["items"]]
