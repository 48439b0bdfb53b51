"""The SSRF guard: webhook URLs may only reach the public internet.

A subscriber chooses the URL we POST to, so without a guard the service is a
way into the network it runs in (cloud metadata at 169.254.169.254, admin
ports on loopback, the office LAN). Two checks, sharing one ``AddressPolicy``:

- when a subscription is created or changed (``check_host``): the scheme,
  and the host only where it is private on its face: an IP literal in a
  refused range, or a name like ``localhost`` that always means this
  machine. Nothing is resolved then, so a subscription can be made while
  offline or before its receiver's name exists; the real check is the next;
- when connecting: ``GuardedResolver`` is the HTTP client's resolver, so the
  addresses it vetted are the very ones connected to. A name that resolves
  to a public address at creation and to 127.0.0.1 later (DNS rebinding) is
  refused at that moment. IP literals never reach a resolver, so
  ``check_literal`` covers them at send time.

Ranges opened by ``GEOALERT_WEBHOOK_ALLOW_CIDRS`` are allowed before any
other rule (for local receivers and tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")

# Named ranges first, so a refusal says what the address is; anything else
# that is not globally routable is refused as "not a public address".
_NAMED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified/this-network"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("169.254.0.0/16", "link-local (cloud metadata)"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fc00::/7", "unique-local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated private)"),
    ("ff00::/8", "multicast"),
    ("100::/64", "discard-only"),
    ("2001:db8::/32", "documentation"),
)
_NAMED_NETS: tuple[tuple[IPNetwork, str], ...] = tuple((ipaddress.ip_network(n), r) for n, r in _NAMED)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Prefixes under which an IPv6 address stands for an IPv4 one. Where the IPv4
# address sits in the last 32 bits, the guard judges that address; prefixes
# no client needs (deprecated, or where the IPv4 address may sit anywhere)
# are refused whatever they carry.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated (RFC 4291); ::/128 and ::1 are named
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215), any prefix length
_ALWAYS_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    (_IPV4_COMPATIBLE, "IPv4-compatible (deprecated)"),
    (_IPV4_TRANSLATED, "IPv4-translated (SIIT)"),
    (_NAT64_LOCAL, "NAT64 local-use (may reach any IPv4 address)"),
)
_SPECIAL_V6 = (ipaddress.ip_address("::"), ipaddress.ip_address("::1"))


class UnsafeAddress(OSError):
    """A webhook target that the guard refuses. An OSError, so HTTP clients report it as a connect error."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, translated, 6to4, Teredo, NAT64).

    That is where a packet to it really goes (through the host's stack, a
    relay or a NAT64 gateway), so that is the address the guard judges.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _SPECIAL_V6:
        return None
    if ip in _NAT64 or ip in _NAT64_LOCAL or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def classify(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            reason = classify(inner)
            if reason is not None:
                return f"{reason} ({inner} inside IPv6)"
            for net, why in _ALWAYS_REFUSED:
                if ip in net:
                    return why
            return None
    for net, reason in _NAMED_NETS:
        if ip.version == net.version and ip in net:
            return reason
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:
        return "not a public address"
    return None


def parse_cidrs(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1/128"`` -> networks; raises ValueError naming the bad entry."""
    items = value.split(",") if isinstance(value, str) else list(value)
    nets = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP network (like 127.0.0.0/8)") from None
    return tuple(nets)


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses webhooks may reach: public unicast, plus any explicitly allowed range."""

    allow: tuple[IPNetwork, ...] = field(default_factory=tuple)

    def refusal(self, ip: IPAddress) -> str | None:
        if any(ip.version == net.version and ip in net for net in self.allow):
            return None
        reason = classify(ip)
        if reason is None:
            return None
        return f"{ip} is {reason}"

    def check_literal(self, host: str) -> None:
        """Refuse ``host`` if it is an IP literal the policy forbids (names are the resolver's job)."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        reason = self.refusal(ip)
        if reason is not None:
            raise UnsafeAddress(f"refused: {reason}")


def parse_url(url: str) -> URL:
    """A webhook URL, or ValueError saying what is wrong with it."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        raise ValueError("is not a valid URL") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise ValueError("must be an http:// or https:// URL")
    if not parsed.host:
        raise ValueError("has no host")
    if parsed.user is not None or parsed.password is not None:
        raise ValueError("must not carry credentials; authenticate with the signature instead")
    return parsed


# Names that mean this machine wherever they are looked up (RFC 6761), and what they resolve to.
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOOPBACK_ADDRESS = ipaddress.ip_address("127.0.0.1")


def check_host(host: str, policy: AddressPolicy) -> None:
    """Refuse a host that is private by address or by name, without resolving it; ValueError says why."""
    try:
        policy.check_literal(host)
    except UnsafeAddress as exc:
        raise ValueError(str(exc)) from None
    name = host.strip("[]").rstrip(".").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        reason = policy.refusal(_LOOPBACK_ADDRESS)
        if reason is not None:
            raise ValueError(f"refused: {name} resolves to {reason}")


def check_url_offline(url: str, policy: AddressPolicy) -> None:
    """``parse_url`` and ``check_host``: what creation refuses; connecting checks every address again."""
    check_host(parse_url(url).raw_host or "", policy)


async def check_url(url: str, policy: AddressPolicy, *, timeout: float = 5.0) -> None:
    """Refuse a URL whose scheme or any resolved address is not allowed; ValueError says why."""
    parsed = parse_url(url)
    host = parsed.raw_host or ""
    try:
        policy.check_literal(host)
    except UnsafeAddress as exc:
        raise ValueError(str(exc)) from None
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, parsed.port or 0, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, TimeoutError):
        raise ValueError(f"host {host!r} does not resolve") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = policy.refusal(ip)
        if reason is not None:
            raise ValueError(f"refused: {host} resolves to {reason}")


class GuardedResolver(AbstractResolver):
    """Resolves like the system does, then keeps only the addresses the policy allows.

    aiohttp connects to exactly the addresses a resolver returns, so the
    check and the connection cannot disagree (no rebinding between them).
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        refused: list[str] = []
        for result in results:
            reason = self.policy.refusal(ipaddress.ip_address(result["host"].split("%", 1)[0]))
            if reason is None:
                allowed.append(result)
            else:
                refused.append(reason)
        if not allowed:
            detail = refused[0] if refused else "no address"
            raise UnsafeAddress(f"refused: {host} resolves to {detail}")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
