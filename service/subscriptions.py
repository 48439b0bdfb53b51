"""Who wants which alerts, and through which channel.

Subscriptions come from the declarative file (read-only, reloaded when it
changes) and, through the HTTP API, from Redis. Matching an alert against a
subscription is a small pure function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from notifiers.console import ConsoleTarget
from notifiers.webhook import WebhookTarget
from service.models import SEVERITY_ORDER, RuleRef, Severity
from service.watched import WatchedFile
from service.yamlfile import load_model

Channel = Literal["console", "webhook"]


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    name: str = Field(min_length=1)
    rules: list[str] = Field(default_factory=lambda: ["*"], description="rule ids, 'tag:<tag>' or '*'")
    min_severity: Severity = "info"
    enabled: bool = True
    source: Literal["file", "api"] = "file"
    console: ConsoleTarget | None = None
    webhook: WebhookTarget | None = None

    @model_validator(mode="after")
    def _one_channel(self) -> Subscription:
        channels = [c for c in ("console", "webhook") if getattr(self, c) is not None]
        if len(channels) != 1:
            raise ValueError(f"needs exactly one channel of console, webhook; got {channels or 'none'}")
        if not self.id:
            self.id = self.name
        return self

    @property
    def channel(self) -> Channel:
        return "console" if self.console is not None else "webhook"

    @property
    def target(self) -> BaseModel:
        target = getattr(self, self.channel)
        assert target is not None
        return target  # type: ignore[no-any-return]

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
            seen.add(sub.id)
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
    """Every subscription the dispatcher serves: the declarative file's, kept current."""

    def __init__(self, file: WatchedFile[list[Subscription]]) -> None:
        self.file = file

    async def all(self) -> list[Subscription]:
        return list(self.file.current)

    async def get(self, subscription_id: str) -> Subscription | None:
        return next((s for s in await self.all() if s.id == subscription_id), None)

    def refresh(self) -> bool:
        return self.file.refresh()
