"""Alerts to chat and push services through Apprise: Slack, Teams, Telegram, Discord, ntfy, Gotify...

Apprise speaks a hundred services behind one URL syntax, and it blocks: each
send runs in a thread of our own pool, never on the event loop. What comes
back is Apprise's structured result, whose per-call log lines carry the
receiver's HTTP status (``error=401``); that status decides the error type:

    400, 401, 403, 404, 410           PermanentError(disable=True): wrong token, chat gone
    other 4xx (not 408, 429)          PermanentError: this message will never be accepted
    408, 429, 5xx, 3xx, timeouts,
    refused connections               RetryableError: the delivery queue tries again
    an address the guard refuses      PermanentError

The address guard: Apprise's HTTP goes through ``requests``, which resolves
names itself, so ``GuardedResolution`` wraps ``socket.getaddrinfo`` for the
threads of this pool only: every name any service resolves (a self-hosted
ntfy, a Mattermost, a ``json://`` target; also slack.com) is checked against
the ``AddressPolicy`` of webhooks, and the connection is made to exactly the
addresses that were vetted. Other threads resolve as before.

Messages never quote a service URL: they carry credentials. Apprise's own
log lines (which may) stay out of ours; its per-call capture still sees them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from notifiers.apprise_target import AppriseTarget, apprise_module, asset, redacted
from notifiers.base import Notification, PermanentError, Receipt, RetryableError
from notifiers.email import one_line
from notifiers.ssrf import AddressPolicy, UnsafeAddress

log = logging.getLogger(__name__)

DISABLING = frozenset({400, 401, 403, 404, 410})
RETRYABLE_4XX = frozenset({408, 429})
_ERROR_CODE = re.compile(r"error=(\d{3,5})\b")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")
_MENTION = re.compile(r"@(?=\w)")


# --- the address guard ---

_guarded = threading.local()
_original_getaddrinfo = socket.getaddrinfo
_install_lock = threading.Lock()


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    results = _original_getaddrinfo(host, port, *args, **kwargs)
    policy: AddressPolicy | None = getattr(_guarded, "policy", None)
    if policy is None:
        return results
    allowed: list[Any] = []
    refused: list[str] = []
    for result in results:
        reason = policy.refusal(ipaddress.ip_address(str(result[4][0]).split("%", 1)[0]))
        if reason is None:
            allowed.append(result)
        else:
            refused.append(reason)
    if not allowed:
        reason = f"refused: {host} resolves to {refused[0] if refused else 'no address'}"
        _guarded.refused = reason
        raise UnsafeAddress(reason)
    return allowed


def install_guard() -> None:
    """Put the per-thread guard in front of ``socket.getaddrinfo`` (once; inert outside guarded threads)."""
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo


@contextmanager
def guarded(policy: AddressPolicy) -> Iterator[None]:
    """Within this block, on this thread, every name resolved must pass ``policy``."""
    _guarded.policy, _guarded.refused = policy, None
    try:
        yield
    finally:
        _guarded.policy = None


# --- the message ---


def md(text: object, limit: int = 300) -> str:
    """Untrusted text made inert in Markdown: no links, emphasis or @channel mentions of its own."""
    flat = one_line(text, limit)
    return _MENTION.sub("@\u200b", _MARKDOWN_SPECIAL.sub(r"\\\1", flat))


_sandbox = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
_sandbox.filters["md"] = md

DEFAULT_BODY = _sandbox.from_string(
    """**{{ rule.title | md }}** ({{ rule.severity | upper }}){% if article.source %} · {{ article.source | md }}{% endif %}{% if article.published %} · {{ article.published[:10] }}{% endif %}

{% for ev in evidence[:3] %}
- {{ ev.part | md(60) }}: *{{ ev.text | md(80) }}*{% if ev.snippet %} — {{ ev.snippet | md(160) }}{% endif %}

{% endfor %}
{% if evidence | length > 3 %}
- …and {{ evidence | length - 3 }} more

{% endif %}
{% if article.url %}[Read the article]({{ article.url | urlencode_link }}){% endif %}
"""
)


def _link(url: object) -> str:
    """An article link that cannot end the Markdown link early: spaces and parentheses escaped."""
    text = one_line(url, 2048)
    if not text.startswith(("http://", "https://")):
        return ""
    return text.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


_sandbox.filters["urlencode_link"] = _link


def _context(alert: Mapping[str, Any]) -> dict[str, Any]:
    rule = dict(alert.get("rule", {}))
    rule.setdefault("title", rule.get("id", ""))
    rule["title"] = rule.get("title") or rule.get("id", "")
    article = dict(alert.get("article", {}))
    return {
        "alert": alert,
        "rule": rule,
        "article": article,
        "evidence": list(alert.get("evidence", [])),
        "link": _link(article.get("url", "")),
    }


def render(notification: Notification, target: AppriseTarget) -> tuple[str, str]:
    """(title, body in Markdown); a template that fails is a PermanentError (retrying cannot fix it)."""
    context = _context(notification.alert)
    if notification.alerts:
        context["alerts"] = [_context(a) for a in notification.alerts]
    try:
        if target.title is not None:
            title = _sandbox.from_string(target.title).render(context)
        else:
            rule = context["rule"]
            title = f"[{str(rule.get('severity', '')).upper()}] {rule['title']}: {context['article'].get('title', '')}"
        if target.template is not None:
            body = _sandbox.from_string(target.template).render(context)
        else:
            body = DEFAULT_BODY.render(context)
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise PermanentError(f"the subscription's template failed: {one_line(exc)}") from None
    # Titles go out as plain text, but some services put them into the Markdown body: no mentions there either.
    return _MENTION.sub("@\u200b", one_line(title, 250)), body.strip()[:4000]


# --- sending ---


@dataclass(frozen=True)
class ServiceOutcome:
    """What happened with one service URL."""

    where: str  # the redacted URL
    ok: bool
    status: int | None = None
    refused: str | None = None  # the guard's reason
    message: str = ""


def _status_of(lines: list[str]) -> int | None:
    for line in reversed(lines):
        match = _ERROR_CODE.search(line)
        if match:
            code = int(match.group(1))
            return code // 100 if code >= 10000 else code  # ntfy's codes: 40101 is HTTP 401
    return None


def send_blocking(urls: list[str], title: str, body: str, policy: AddressPolicy) -> list[ServiceOutcome]:
    """Send to each URL in turn, in the calling thread, under the address guard."""
    apprise = apprise_module()
    outcomes = []
    with guarded(policy):
        for url in urls:
            where = redacted(url)
            sender = apprise.Apprise(asset=asset())
            if not sender.add(url):
                outcomes.append(ServiceOutcome(where, False, message="Apprise does not understand this URL"))
                continue
            _guarded.refused = None
            result = sender.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN, log_level=logging.INFO
            )
            lines = [entry.message for service in result.results for entry in service.logs()]
            if result:
                outcomes.append(ServiceOutcome(where, True))
                continue
            message = next(
                (line for line in reversed(lines) if "error" in line.lower()), lines[-1] if lines else ""
            )
            outcomes.append(
                ServiceOutcome(
                    where,
                    False,
                    status=_status_of(lines),
                    refused=_guarded.refused,
                    message=_scrub(message, url),
                )
            )
    return outcomes


def _scrub(message: str, url: str) -> str:
    """An Apprise log line without the URL's secrets, should it quote any."""
    text = one_line(message, 300)
    for secret in {url, *re.split(r"[/:@?&=#]+", url.split("://", 1)[-1])}:
        if len(secret) >= 6 and secret in text:
            text = text.replace(secret, "…")
    return text


def verdict(outcomes: list[ServiceOutcome]) -> Receipt:
    """One delivery's result from its services' outcomes (see the module docstring for the mapping)."""
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return Receipt(detail="sent: " + ", ".join(o.where.split("://", 1)[0] for o in outcomes))
    detail = "; ".join(_describe(o) for o in failed)
    if len(failed) < len(outcomes):
        detail += f" (the other {len(outcomes) - len(failed)} service(s) were sent to)"
    retryable = [o for o in failed if o.refused is None and not _permanent(o.status)]
    status = failed[0].status
    if retryable:
        raise RetryableError(detail, status=retryable[0].status)
    disable = any(o.status in DISABLING for o in failed)
    if disable:
        detail += ": subscription disabled"
    raise PermanentError(detail, status=status, disable=disable)


def _permanent(status: int | None) -> bool:
    return status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX


def _describe(o: ServiceOutcome) -> str:
    if o.refused:
        return f"{o.where}: {o.refused}"
    answered = f"answered {o.status}" if o.status else "failed"
    return f"{o.where} {answered}: {o.message}".rstrip(": ")


class AppriseNotifier:
    def __init__(self, policy: AddressPolicy, *, threads: int = 8) -> None:
        self._policy = policy
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        install_guard()
        # Apprise logs the failures it reports to us; its own lines may name a URL, so they stay out.
        apprise_log = logging.getLogger("apprise")
        apprise_log.propagate = False
        if not apprise_log.handlers:
            apprise_log.addHandler(logging.NullHandler())

    async def send(self, notification: Notification, target: AppriseTarget) -> Receipt:
        title, body = render(notification, target)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="apprise")
        loop = asyncio.get_running_loop()
        outcomes = await loop.run_in_executor(
            self._pool, send_blocking, target.secrets(), title, body, self._policy
        )
        return verdict(outcomes)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
