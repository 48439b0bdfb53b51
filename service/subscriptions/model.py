"""A subscription: which alerts, and the one channel they go through.

``SubscriptionSpec`` is everything a user writes, in the subscriptions file
and in the API alike; ``Subscription`` adds what the service keeps beside it
(id, source, why it was switched off, timestamps). The channel is a
discriminated union held in ``target`` (console | webhook | email |
apprise), while the written form keeps one key per channel
(``webhook: {url: ...}``): the lifting happens in one place, and so does the
"exactly one channel" check.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from notifiers.apprise_target import REVEAL, AppriseTarget, service_key
from notifiers.console import ConsoleTarget
from notifiers.email import EmailTarget
from notifiers.webhook import WebhookTarget, new_secret
from service.models import SEVERITY_ORDER, RuleRef, Severity, stable_id, utcnow

Channel = Literal["console", "webhook", "email", "apprise"]
CHANNELS: tuple[Channel, ...] = ("console", "webhook", "email", "apprise")
DigestMode = Literal["immediate", "hourly", "daily"]

_RULE_PATTERN = re.compile(r"^(\*|tag:[A-Za-z0-9_.-]{1,64}|[A-Za-z0-9_.-]{1,128})$")


def check_rule_patterns(value: list[str]) -> list[str]:
    for item in value:
        if not _RULE_PATTERN.match(item):
            raise ValueError(f"{item[:80]!r} is not a rule id, 'tag:<tag>' or '*'")
    return value


def pattern_matches(pattern: str, rule: RuleRef) -> bool:
    return pattern == "*" or pattern == rule.id or (pattern.startswith("tag:") and pattern[4:] in rule.tags)


class Throttle(BaseModel):
    """At most one alert per rule and story (or per rule) in ``period`` seconds."""

    model_config = ConfigDict(extra="forbid")

    period: int = Field(ge=1, le=30 * 86400, description="seconds", examples=[3600])
    per: Literal["story", "rule"] = Field(
        default="story", description="'story': one per rule and story; 'rule': one per rule"
    )


def _without_kind(schema: dict[str, Any]) -> None:
    schema.get("properties", {}).pop("kind", None)


# The union's members: each target with its channel's name as the tag. The tag is not part of the
# written form (the key the target is written under says it), so it is neither serialised nor shown.
_TAGGED = ConfigDict(json_schema_extra=_without_kind)


class ConsoleChannel(ConsoleTarget):
    model_config = _TAGGED
    kind: Literal["console"] = Field(default="console", exclude=True)


class WebhookChannel(WebhookTarget):
    model_config = _TAGGED
    kind: Literal["webhook"] = Field(default="webhook", exclude=True)


class EmailChannel(EmailTarget):
    model_config = _TAGGED
    kind: Literal["email"] = Field(default="email", exclude=True)


class AppriseChannel(AppriseTarget):
    model_config = _TAGGED
    kind: Literal["apprise"] = Field(default="apprise", exclude=True)


ChannelTarget = Annotated[
    ConsoleChannel | WebhookChannel | EmailChannel | AppriseChannel, Field(discriminator="kind")
]
CHANNEL_TARGETS: dict[str, type[BaseModel]] = {
    "console": ConsoleTarget,
    "webhook": WebhookTarget,
    "email": EmailTarget,
    "apprise": AppriseTarget,
}

RULE_PATTERNS = Field(
    default_factory=lambda: ["*"],
    min_length=1,
    max_length=200,
    description="rule ids, 'tag:<tag>' or '*' (every rule)",
    examples=[["leader_summit", "tag:arms"]],
)


def wire_location(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """An error location in written terms: ``("target", "webhook", "url")`` -> ``("webhook", "url")``."""
    loc = tuple(loc)
    if loc[:1] == ("target",):
        return loc[1:]
    return loc


def lift_channel(data: Any) -> Any:
    """Written form -> model form: the one channel key becomes ``target``; exactly one is required."""
    if not isinstance(data, dict):
        return data
    if "target" in data:  # the model's own field, never a written key
        raise ValueError(f"unknown key 'target' (write the channel as one of: {', '.join(CHANNELS)})")
    given = [c for c in CHANNELS if data.get(c) is not None]
    if len(given) != 1:
        raise ValueError(
            f"needs exactly one channel of {', '.join(CHANNELS)}; got {', '.join(given) or 'none'}"
        )
    out = {k: v for k, v in data.items() if k not in CHANNELS}
    value = data[given[0]]
    if isinstance(value, BaseModel):
        # a target built in code: keep its values as they are (secrets stay SecretStr)
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if not isinstance(value, dict):
        raise ValueError(f"{given[0]}: expected a mapping of its settings")
    out["target"] = {**value, "kind": given[0]}
    return out


class SubscriptionFields(BaseModel):
    """The fields a user sets, apart from the channel: listed once, for the file, the API and reads."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    rules: list[str] = RULE_PATTERNS
    min_severity: Severity = "info"
    enabled: bool = True
    throttle: Throttle | None = None
    digest: DigestMode = Field(
        default="immediate", description="email only: one mail per alert, or per period"
    )
    snooze_until: datetime | None = Field(
        default=None,
        description="no new alerts until this time (ISO 8601 with a zone); the subscription stays on",
    )
    muted_rules: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="rule ids or 'tag:<tag>' this subscription never alerts on, whatever 'rules' says",
    )

    @field_validator("rules", "muted_rules")
    @classmethod
    def _rule_patterns(cls, value: list[str]) -> list[str]:
        return check_rule_patterns(value)

    @field_validator("snooze_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-12-03T18:00:00Z")
        return value


def _written_schema(schema: dict[str, Any]) -> None:
    """Show the written form in JSON Schema: one optional key per channel, exactly one of them given."""
    props = schema.get("properties", {})
    target = props.pop("target", None)
    if target is None:
        return
    schema["required"] = [r for r in schema.get("required", []) if r != "target"]
    mapping = target.get("discriminator", {}).get("mapping", {})
    for channel in CHANNELS:
        props[channel] = {"$ref": mapping[channel]} if channel in mapping else {"type": "object"}
    schema["oneOf"] = [{"required": [c]} for c in CHANNELS]


class SubscriptionSpec(SubscriptionFields):
    """What a user writes: the fields and exactly one channel."""

    model_config = ConfigDict(json_schema_extra=_written_schema)

    target: ChannelTarget

    # the written keys (not the model's ``target``): yamlfile suggests them for a misspelt key
    __wire_fields__: ClassVar[dict[str, Any]] = {
        **{name: f.annotation for name, f in SubscriptionFields.model_fields.items()},
        **CHANNEL_TARGETS,
    }

    @model_validator(mode="before")
    @classmethod
    def _lift(cls, data: Any) -> Any:
        return lift_channel(data)

    @model_validator(mode="after")
    def _digest_is_for_email(self) -> SubscriptionSpec:
        if self.digest != "immediate" and self.channel != "email":
            raise ValueError("digest: only email subscriptions can receive digests")
        return self

    @model_serializer(mode="wrap")
    def _written_form(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        target = data.pop("target", None)
        if target is not None:
            data[self.channel] = target
        return data

    @property
    def channel(self) -> Channel:
        return self.target.kind

    @property
    def console(self) -> ConsoleChannel | None:
        return self.target if isinstance(self.target, ConsoleChannel) else None

    @property
    def webhook(self) -> WebhookChannel | None:
        return self.target if isinstance(self.target, WebhookChannel) else None

    @property
    def email(self) -> EmailChannel | None:
        return self.target if isinstance(self.target, EmailChannel) else None

    @property
    def apprise(self) -> AppriseChannel | None:
        return self.target if isinstance(self.target, AppriseChannel) else None

    @property
    def endpoint(self) -> str:
        """What deliveries of this subscription contend for: a webhook origin, an Apprise service, SMTP."""
        if isinstance(self.target, WebhookChannel):
            return self.target.endpoint
        if isinstance(self.target, AppriseChannel):
            # hashed: the host part of some Apprise URLs is a token, and this name is a Redis key
            where = service_key(self.target.urls[0].get_secret_value())
            return f"apprise:{where.split(':', 1)[0]}:{stable_id('apprise', where, length=12)}"
        return "smtp" if self.channel == "email" else "console"

    def wants(self, rule: RuleRef, *, now: datetime | None = None) -> bool:
        if not self.enabled or SEVERITY_ORDER[rule.severity] < SEVERITY_ORDER[self.min_severity]:
            return False
        if self.snooze_until is not None and (now or utcnow()) < self.snooze_until:
            return False
        if any(pattern_matches(p, rule) for p in self.muted_rules):
            return False
        return any(pattern_matches(p, rule) for p in self.rules)

    def with_secret(self) -> Self:
        """The same, with a webhook signing secret generated if none was given (the one place it is)."""
        if isinstance(self.target, WebhookChannel) and self.target.secret is None:
            return self.model_copy(update={"target": self.target.model_copy(update={"secret": new_secret()})})
        return self


class Subscription(SubscriptionSpec):
    """A subscription as the service keeps it."""

    id: str = ""
    source: Literal["file", "api"] = "file"
    disabled_reason: str | None = Field(default=None, description="why delivery stopped (e.g. 410 Gone)")
    created_at: datetime | None = None
    updated_at: datetime | None = None

    __wire_fields__: ClassVar[dict[str, Any]] = {**SubscriptionSpec.__wire_fields__, "id": str}

    @model_validator(mode="after")
    def _id_defaults_to_name(self) -> Subscription:
        if not self.id:
            self.id = self.name
        return self

    def stored(self) -> str:
        """The JSON kept in Redis: secrets included."""
        return self.model_dump_json(context=REVEAL)

    def fingerprint(self) -> str:
        """Changes whenever the definition does (used to expire a file subscription's 410 switch-off)."""
        return stable_id(
            "subscription", self.model_dump_json(context=REVEAL, exclude={"enabled", "disabled_reason"})
        )

    def written(self) -> dict[str, Any]:
        """The subscription as a user would write it again (secrets included): the base of a change."""
        return self.model_dump(
            mode="json",
            context=REVEAL,
            exclude={"id", "source", "disabled_reason", "created_at", "updated_at"},
        )


def unknown_patterns(sub: SubscriptionFields, rules: Iterable[Any]) -> list[tuple[str, str]]:
    """(field, message) for each rule id or tag of ``sub`` that no rule has, with a did-you-mean."""
    rules = list(rules)
    ids = {r.id for r in rules}
    tags = {t for r in rules for t in r.tags}
    problems = []
    for field in ("rules", "muted_rules"):
        for i, pattern in enumerate(getattr(sub, field)):
            if pattern.startswith("tag:") and pattern[4:] not in tags:
                problems.append(
                    (f"{field}[{i}]", f"no rule has the tag {pattern[4:]!r}{_suggest(pattern[4:], tags)}")
                )
            elif pattern != "*" and not pattern.startswith("tag:") and pattern not in ids:
                problems.append((f"{field}[{i}]", f"no rule has the id {pattern!r}{_suggest(pattern, ids)}"))
    return problems


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else ""


def matching(subscriptions: list[Subscription], rule: RuleRef) -> list[Subscription]:
    return [s for s in subscriptions if s.wants(rule)]


def email_without_smtp(subscriptions: Sequence[Subscription], smtp_host: str | None) -> str | None:
    """The warning to give when email subscriptions exist but no SMTP server is set, else None."""
    names = [s.name for s in subscriptions if s.email is not None and s.enabled]
    if not names or smtp_host is not None:
        return None
    shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (
        f"{len(names)} email subscription(s) ({shown}) but no SMTP server is configured"
        " (GEOALERT_SMTP_HOST): their mails wait in the retry queue"
    )
