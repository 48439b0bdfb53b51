"""The SSRF guard: webhooks reach the public internet only, checked at creation and again at connection."""

from __future__ import annotations

import ipaddress
import re
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from notifiers.ssrf import AddressPolicy, GuardedResolver, UnsafeAddress, check_url, classify, parse_cidrs
from notifiers.webhook import WebhookNotifier, webhook_session
from service.app import create_app
from service.delivery import DeliveryWorker
from tests.conftest import SettingsFactory
from tests.deliverykit import LOOPBACK, Kit, make_alert
from tests.helpers import WebhookReceiver, running

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified/this-network"),
    ("::", "unspecified"),
    ("fc00::1", "unique-local (private)"),
    ("fe80::1", "link-local"),
    ("::ffff:127.0.0.1", "loopback (127.0.0.1 inside IPv6)"),
    ("::ffff:169.254.169.254", "link-local (cloud metadata) (169.254.169.254 inside IPv6)"),
    ("2002:a00:1::", "private (10.0.0.1 inside IPv6)"),  # 6to4
    ("64:ff9b::7f00:1", "loopback (127.0.0.1 inside IPv6)"),  # NAT64
    ("198.18.0.1", "benchmarking"),
    ("2001:db8::1", "documentation"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused_with_what_they_are(address: str, reason: str) -> None:
    assert classify(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_allowed_ranges_open_exactly_those_ranges() -> None:
    policy = AddressPolicy(parse_cidrs("127.0.0.0/8, fd00::/8"))
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("fd12::1")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "10.0.0.1 is private"


def test_a_malformed_range_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        parse_cidrs("127.0.0.0/8,10.0.0.0/33")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://example.org/", "http:// or https://"),
        ("ftp://example.org/", "http:// or https://"),
        ("http://user:pw@example.org/", "credentials"),
        ("http://127.0.0.1:6379/", "127.0.0.1 is loopback"),
        ("http://[::1]/", "::1 is loopback"),
        ("http://[::ffff:a9fe:a9fe]/latest/meta-data", "cloud metadata"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://localhost:8080/", "resolves to 127.0.0.1 is loopback"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 written as one number
        ("http://0x7f.1/", "loopback"),
        ("http://no-such-host.invalid/", "does not resolve"),
    ],
)
async def test_creation_time_check_refuses_unsafe_urls(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        await check_url(url, AddressPolicy())


async def test_creation_time_check_accepts_an_allowed_range() -> None:
    await check_url("http://localhost:8080/hook", LOOPBACK)


class ScriptedDns(AbstractResolver):
    """DNS whose answers the test sets (the HTTP client's resolver interface; no name leaves the machine)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(f"{host} does not resolve")
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=socket.AF_INET, proto=0, flags=0)
            for ip in self.answers[host]
        ]

    async def close(self) -> None:
        pass


async def test_the_resolver_keeps_only_allowed_addresses_and_refuses_when_none_is_left() -> None:
    dns = ScriptedDns({"mixed.test": ["93.184.215.14", "10.0.0.5"], "inside.test": ["10.0.0.5"]})
    resolver = GuardedResolver(AddressPolicy(), dns)

    assert [r["host"] for r in await resolver.resolve("mixed.test", 443)] == ["93.184.215.14"]
    with pytest.raises(UnsafeAddress, match=r"inside\.test resolves to 10\.0\.0\.5 is private"):
        await resolver.resolve("inside.test", 443)


async def test_dns_rebinding_to_loopback_is_refused_at_connection_time(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    # The name pointed somewhere public when the subscription was made; now it points here.
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    sub = await kit.subscribe(webhook={"url": f"http://rebound.test:{port}/hook"})
    await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    session = webhook_session(AddressPolicy(), dns=ScriptedDns({"rebound.test": ["127.0.0.1"]}))
    try:
        notifiers = {**kit.notifiers(), "webhook": WebhookNotifier(session, AddressPolicy())}
        await DeliveryWorker(kit.queue, kit.directory, notifiers, kit.metrics, clock=kit.clock).process_due()
    finally:
        await session.close()

    assert receiver.received == []
    ((record, _),) = (await kit.queue.for_subscription(sub.id, limit=5))[0]
    assert record.status == "dead"  # refusing again later cannot help
    assert record.last_error == "refused: rebound.test resolves to 127.0.0.1 is loopback"


async def test_the_connection_goes_to_the_address_that_was_vetted(
    kit: Kit, receiver: WebhookReceiver
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    sub = await kit.subscribe(webhook={"url": f"http://pinned.test:{port}/hook"})
    await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    session = webhook_session(LOOPBACK, dns=ScriptedDns({"pinned.test": ["127.0.0.1"]}))
    try:
        notifiers = {**kit.notifiers(), "webhook": WebhookNotifier(session, LOOPBACK)}
        await DeliveryWorker(kit.queue, kit.directory, notifiers, kit.metrics, clock=kit.clock).process_due()
    finally:
        await session.close()

    (got,) = receiver.received
    assert got.headers["Host"] == f"pinned.test:{port}"


async def test_an_ip_literal_url_is_checked_at_send_time_too(kit: Kit, receiver: WebhookReceiver) -> None:
    # Made while loopback was allowed; the running service no longer allows it.
    sub = await kit.subscribe(webhook={"url": receiver.url})
    await kit.queue.enqueue(make_alert(), sub, now=kit.clock())
    notifiers = {**kit.notifiers(), "webhook": WebhookNotifier(kit.session, AddressPolicy())}

    await DeliveryWorker(kit.queue, kit.directory, notifiers, kit.metrics, clock=kit.clock).process_due()

    assert receiver.received == []
    ((record, _),) = (await kit.queue.for_subscription(sub.id, limit=5))[0]
    assert record.last_error == "refused: 127.0.0.1 is loopback"


async def test_opening_ranges_is_announced_as_a_warning(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(create_app(make_settings(webhook_allow_cidrs="127.0.0.0/8"), roles=["api"])):
        pass
    assert "GEOALERT_WEBHOOK_ALLOW_CIDRS opens 127.0.0.0/8" in caplog.text

    caplog.clear()
    async with running(create_app(make_settings(), roles=["api"])):
        pass
    assert "ALLOW_CIDRS" not in caplog.text
