"""What an Apprise subscription names: service URLs (credentials inside) and an optional template.

Apprise URLs carry tokens and passwords (``tgram://BOT_TOKEN/CHAT``,
``ntfy://user:pass@host/topic``), so they are ``SecretStr``: every ordinary
dump shows the redacted form (Apprise's own privacy rendering, query
dropped), and only a dump with ``context={"reveal_secrets": True}`` (the
store writing to Redis) carries the real URL. Validation messages never
quote a URL.
"""

from __future__ import annotations

import warnings
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializationInfo,
    field_serializer,
    field_validator,
)

MAX_TEMPLATE = 4000
REVEAL = {"reveal_secrets": True}


@cache
def apprise_module() -> Any:
    """The apprise package with its plugins loaded once.

    Loading imports every plugin; one of them imports ``imghdr``, which warns
    of its removal in Python 3.13. That warning is Apprise's, not ours: keep
    it out of logs (and out of test runs that turn warnings into errors).
    """
    import apprise
    from apprise.manager_plugins import NotificationManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        NotificationManager().load_modules()  # type: ignore[no-untyped-call]
    return apprise


def asset() -> Any:
    """How we use Apprise: one service at a time in the caller's thread, nothing written to disk.

    ``async_mode=False`` and no service timeout keep every send in the thread
    we give it (its address guard is per thread); the socket timeouts of
    each service bound a send instead.
    """
    apprise = apprise_module()
    return apprise.AppriseAsset(async_mode=False, service_timeout=0, storage_mode="memory")


def instantiate(url: str) -> Any | None:
    """The Apprise service object for ``url``, or None if Apprise does not understand it."""
    return apprise_module().Apprise.instantiate(url, asset=asset())


@lru_cache(maxsize=4096)
def redacted(url: str) -> str:
    """The URL as it may be shown: Apprise's privacy form (tokens elided), without its query."""
    service = instantiate(url)
    if service is None:
        return urlsplit(url).scheme + "://…"
    return str(service.url(privacy=True)).split("?", 1)[0]


sandbox = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


class AppriseTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[SecretStr] = Field(
        min_length=1,
        max_length=10,
        description=(
            "Apprise service URLs (https://github.com/caronc/apprise/wiki), e.g. slack://T/B/C,"
            " tgram://BOT_TOKEN/CHAT_ID, ntfy://host/topic; stored as secrets, shown redacted"
        ),
        examples=[["ntfy://ntfy.example.org/geoalert"]],
    )
    title: str | None = Field(
        default=None,
        max_length=500,
        description="Jinja2 template of the title (sandboxed); default: severity, rule, headline",
    )
    template: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE,
        description="Jinja2 template of the body in Markdown (sandboxed); variables: alert, rule, article, evidence",
    )

    @field_validator("urls")
    @classmethod
    def _known_services(cls, value: list[SecretStr]) -> list[SecretStr]:
        for i, url in enumerate(value):
            raw = url.get_secret_value()
            if len(raw) > 2048:
                raise ValueError(f"urls[{i}] is longer than 2048 characters")
            if instantiate(raw) is None:
                scheme = urlsplit(raw).scheme[:20] if "://" in raw else ""
                raise ValueError(
                    f"urls[{i}] ({scheme or 'no scheme'}://…) is not an Apprise URL this version understands"
                )
        return value

    @field_validator("title", "template")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                sandbox.parse(value)
            except TemplateSyntaxError as exc:
                raise ValueError(f"template line {exc.lineno}: {exc.message}") from None
        return value

    @field_serializer("urls")
    def _urls(self, value: list[SecretStr], info: SerializationInfo) -> list[str]:
        if isinstance(info.context, dict) and info.context.get("reveal_secrets"):
            return [u.get_secret_value() for u in value]
        return [redacted(u.get_secret_value()) for u in value]

    def secrets(self) -> list[str]:
        return [u.get_secret_value() for u in self.urls]


@lru_cache(maxsize=4096)
def service_key(url: str) -> str:
    """``scheme:host:port`` of the service a URL reaches (the host part may be a token: never show it)."""
    service = instantiate(url)
    if service is None:
        return urlsplit(url).scheme
    return f"{service.secure_protocol}:{getattr(service, 'host', '')}:{getattr(service, 'port', '')}"
