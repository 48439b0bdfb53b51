"""Signing in to the console with the API token, signing out, and forged cross-site requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from tests.browserkit import Service, ServiceFactory, call

TOKEN = "console-test-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def sign_in(page: Any, base: str, token: str = TOKEN) -> None:
    page.goto(base + "/")
    page.locator("input[name=token]").fill(token)
    page.locator("form button[type=submit]").click()


def test_the_console_asks_for_the_token_and_signing_out_ends_the_session(
    start_service: ServiceFactory, page_of: Callable[..., Any]
) -> None:
    service = start_service(roles=("api",), api_token=TOKEN)
    page = page_of()
    page.goto(service.base + "/rules")
    assert page.url.endswith("/login")
    sign_in(page, service.base, token="not-the-token-at-all-0000")
    page.get_by_text("That is not the API token.").wait_for()
    assert page.context.cookies() == []
    sign_in(page, service.base)
    page.locator("#timeline").wait_for(state="attached")
    [cookie] = page.context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    page.goto(service.base + "/rules")
    page.locator("#rules-table tbody tr").first.wait_for()

    page.locator("#logout").click()
    page.wait_for_url("**/login")
    assert page.context.cookies() == []
    # The old cookie, replayed, opens nothing: the session is gone on the server too.
    page.context.add_cookies([cookie])
    page.goto(service.base + "/rules")
    assert page.url.endswith("/login")


@pytest.fixture
def attacker(start_service: ServiceFactory) -> Iterator[Callable[[Service, str], str]]:
    """Serve a page from another origin (another port) on the service's loop; returns its URL."""
    runners: list[tuple[Service, web.AppRunner]] = []

    def serve(service: Service, html: str) -> str:
        async def start() -> str:
            app = web.Application()

            async def page(request: web.Request) -> web.Response:
                return web.Response(text=html, content_type="text/html")

            app.router.add_get("/", page)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append((service, runner))
            return f"http://127.0.0.1:{runner.addresses[0][1]}/"

        return service.run(start())

    yield serve
    for service, runner in runners:
        service.run(runner.cleanup())


def test_a_forged_cross_site_post_is_refused_and_changes_nothing(
    start_service: ServiceFactory, page_of: Callable[..., Any], attacker: Callable[[Service, str], str]
) -> None:
    service = start_service(roles=("api",), api_token=TOKEN)
    page = page_of()
    sign_in(page, service.base)
    page.locator("#timeline").wait_for(state="attached")
    before = call(service.base, "GET", "/v1/subscriptions", headers=BEARER)[1]
    # A page elsewhere posts, with the victim's cookie riding along: a form (no CSRF token)
    # creating a subscription, and a form signing the victim out.
    forged_subscription = attacker(
        service,
        f"""<form id=f method=post enctype=text/plain action="{service.base}/v1/subscriptions">
        <input name='{{"name":"evil","webhook":{{"url":"https://evil.example/x"}},"x":"' value='"}}'></form>
        <script>document.getElementById('f').submit()</script>""",
    )
    page.goto(forged_subscription)
    page.wait_for_url(service.base + "/v1/subscriptions")
    assert "a request from another site is refused" in page.content()
    forged_logout = attacker(
        service,
        f"""<form id=f method=post action="{service.base}/logout"></form>
        <script>document.getElementById('f').submit()</script>""",
    )
    page.goto(forged_logout)
    page.wait_for_url(service.base + "/logout")
    assert call(service.base, "GET", "/v1/subscriptions", headers=BEARER)[1] == before
    # Still signed in: the forged sign-out did nothing.
    page.goto(service.base + "/rules")
    page.locator("#rules-table tbody tr").first.wait_for()
    assert not page.url.endswith("/login")
