"""Who wants which alerts, and through which channel.

Subscriptions come from the declarative file (read-only, reloaded when it
changes) and, through the HTTP API, from Redis (``SubscriptionStore``).
``SubscriptionDirectory`` serves both to the dispatcher and the delivery
worker. Matching an alert against a subscription is a small pure function.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notifiers.console import ConsoleTarget
from notifiers.email import EmailTarget
from notifiers.webhook import WebhookTarget
from service.models import SEVERITY_ORDER, RuleRef, Severity, stable_id
from service.watched import WatchedFile
from service.yamlfile import load_model

if TYPE_CHECKING:
    from service.subscription_store import SubscriptionStore

Channel = Literal["console", "webhook", "email"]
CHANNELS: tuple[Channel, ...] = ("console", "webhook", "email")
DigestMode = Literal["immediate", "hourly", "daily"]

_RULE_PATTERN = re.compile(r"^(\*|tag:[A-Za-z0-9_.-]{1,64}|[A-Za-z0-9_.-]{1,128})$")


def check_rule_patterns(value: list[str]) -> list[str]:
    for item in value:
        if not _RULE_PATTERN.match(item):
            raise ValueError(f"{item[:80]!r} is not a rule id, 'tag:<tag>' or '*'")
    return value


class Throttle(BaseModel):
    """At most one alert per rule and story (or per rule) in ``period`` seconds."""

    model_config = ConfigDict(extra="forbid")

    period: int = Field(ge=1, le=30 * 86400, description="seconds", examples=[3600])
    per: Literal["story", "rule"] = Field(
        default="story", description="'story': one per rule and story; 'rule': one per rule"
    )


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    name: str = Field(min_length=1, max_length=200)
    rules: list[str] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        max_length=200,
        description="rule ids, 'tag:<tag>' or '*'",
    )
    min_severity: Severity = "info"
    enabled: bool = True
    source: Literal["file", "api"] = "file"
    console: ConsoleTarget | None = None
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None
    throttle: Throttle | None = None
    digest: DigestMode = Field(
        default="immediate", description="email only: one mail per alert, or per period"
    )
    disabled_reason: str | None = Field(default=None, description="why delivery stopped (e.g. 410 Gone)")
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("rules")
    @classmethod
    def _rule_patterns(cls, value: list[str]) -> list[str]:
        return check_rule_patterns(value)

    @model_validator(mode="after")
    def _one_channel(self) -> Subscription:
        channels = [c for c in CHANNELS if getattr(self, c) is not None]
        if len(channels) != 1:
            raise ValueError(
                f"needs exactly one channel of console, webhook, email; got {channels or 'none'}"
            )
        if self.digest != "immediate" and self.email is None:
            raise ValueError("digest: only email subscriptions can receive digests")
        if not self.id:
            self.id = self.name
        return self

    @property
    def channel(self) -> Channel:
        return next(c for c in CHANNELS if getattr(self, c) is not None)

    @property
    def target(self) -> BaseModel:
        target = getattr(self, self.channel)
        assert target is not None
        return target  # type: ignore[no-any-return]

    @property
    def endpoint(self) -> str:
        """What deliveries of this subscription contend for: a webhook origin, or the SMTP server."""
        if self.webhook is not None:
            return self.webhook.endpoint
        return "smtp" if self.email is not None else "console"

    def fingerprint(self) -> str:
        """Changes whenever the definition does (used to expire a file subscription's 410 switch-off)."""
        return stable_id("subscription", self.model_dump_json(exclude={"enabled", "disabled_reason"}))

    def wants(self, rule: RuleRef) -> bool:
        if not self.enabled or SEVERITY_ORDER[rule.severity] < SEVERITY_ORDER[self.min_severity]:
            return False
        return any(
            pattern == "*" or pattern == rule.id or (pattern.startswith("tag:") and pattern[4:] in rule.tags)
            for pattern in self.rules
        )


class SubscriptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriptions: list[Subscription] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> SubscriptionsFile:
        seen: set[str] = set()
        for sub in self.subscriptions:
            if sub.id in seen:
                raise ValueError(f"two subscriptions share the id {sub.id!r}")
            if sub.webhook is not None and sub.webhook.secret is None:
                # Nothing could sign its deliveries: refuse the file now rather than dead-letter later.
                raise ValueError(
                    f"subscription {sub.id!r}: webhook.secret is required in the file"
                    " (generate one: python -c 'from notifiers.webhook import new_secret; print(new_secret())')"
                )
            seen.add(sub.id)
            sub.source = "file"
        return self


def load_subscriptions_file(path: Path) -> list[Subscription]:
    if not path.exists():
        return []
    return load_model(path, SubscriptionsFile).subscriptions


def matching(subscriptions: list[Subscription], rule: RuleRef) -> list[Subscription]:
    return [s for s in subscriptions if s.wants(rule)]


def describe(sub: Subscription) -> dict[str, Any]:
    return sub.model_dump(mode="json", exclude_none=True)


class SubscriptionDirectory:
    """Every subscription: the declarative file's and, when a store is given, the API's.

    The merged list is cached and rebuilt only when the file or the store's
    version changes, so the dispatcher pays one small Redis read per alert.
    """

    def __init__(self, file: WatchedFile[list[Subscription]], store: SubscriptionStore | None = None) -> None:
        self.file = file
        self.store = store
        self._key: tuple[int, int] | None = None
        self._all: list[Subscription] = []
        self._by_id: dict[str, Subscription] = {}

    async def _current(self, version: int | None = None) -> dict[str, Subscription]:
        if version is None:
            version = await self.store.version() if self.store is not None else 0
        key = (id(self.file.current), version)
        if key != self._key:
            overrides: dict[str, tuple[str, str]] = {}
            stored: list[Subscription] = []
            if self.store is not None:
                snapshot = await self.store.snapshot()
                overrides, stored = snapshot.file_overrides, snapshot.subscriptions
                key = (id(self.file.current), snapshot.version)
            merged = self._apply_overrides(list(self.file.current), overrides)
            file_ids = {m.id for m in merged}
            merged += [s for s in stored if s.id not in file_ids]
            self._all, self._by_id, self._key = merged, {s.id: s for s in merged}, key
        return self._by_id

    @staticmethod
    def _apply_overrides(
        subs: list[Subscription], overrides: dict[str, tuple[str, str]]
    ) -> list[Subscription]:
        out = []
        for sub in subs:
            override = overrides.get(sub.id)
            if override is not None and override[0] == sub.fingerprint():
                sub = sub.model_copy(update={"enabled": False, "disabled_reason": override[1]})
            out.append(sub)
        return out

    async def by_id(self, version: int | None = None) -> dict[str, Subscription]:
        """Every subscription by id; ``version``: the store's version if the caller just read it."""
        return dict(await self._current(version))

    async def all(self) -> list[Subscription]:
        await self._current()
        return list(self._all)

    async def get(self, subscription_id: str) -> Subscription | None:
        return (await self._current()).get(subscription_id)

    async def disable(self, subscription_id: str, reason: str) -> None:
        """Stop delivering to a subscription (its endpoint answered 410 Gone)."""
        sub = await self.get(subscription_id)
        if sub is None or self.store is None:
            return
        if sub.source == "file":
            # The file is read-only to us: remember the switch-off until the entry is edited.
            await self.store.disable_file_subscription(sub.id, sub.fingerprint(), reason)
        else:
            await self.store.update(sub.id, {"enabled": False, "disabled_reason": reason})

    def refresh(self) -> bool:
        return self.file.refresh()
