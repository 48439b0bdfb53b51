"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notifiers.email import EmailTarget
from notifiers.webhook import WebhookTarget
from service.models import Alert, Match, Severity
from service.subscriptions import Channel, DigestMode, Subscription, Throttle, check_rule_patterns

RULE_PATTERNS = Field(
    default_factory=lambda: ["*"],
    min_length=1,
    max_length=200,
    description="rule ids, 'tag:<tag>' or '*' (every rule)",
    examples=[["leader_summit", "tag:arms"]],
)


class FieldProblem(BaseModel):
    field: str = Field(description="where, e.g. webhook.url or rules[1]")
    message: str


class ErrorDetail(BaseModel):
    message: str
    fields: list[FieldProblem] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class HealthBody(BaseModel):
    """Liveness and health: ``status`` plus details (Redis, streams, rules) that may grow."""

    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded"]


# --- subscriptions ---


def _one_channel_schema(schema: dict[str, Any]) -> None:
    """Say in the schema what the validator checks: exactly one channel, given as an object."""
    props = schema["properties"]
    for channel in ("webhook", "email"):
        options = props[channel].pop("anyOf")
        props[channel].update(next(o for o in options if o.get("type") != "null"))
        props[channel].pop("default", None)
    schema["oneOf"] = [{"required": ["webhook"]}, {"required": ["email"]}]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_channel_schema)

    name: str = Field(min_length=1, max_length=200)
    rules: list[str] = RULE_PATTERNS
    min_severity: Severity = "info"
    enabled: bool = True
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None
    throttle: Throttle | None = None
    digest: DigestMode = Field(default="immediate", description="email only")

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        return check_rule_patterns(value)

    @model_validator(mode="after")
    def _one_channel(self) -> SubscriptionIn:
        if (self.webhook is None) == (self.email is None):
            raise ValueError("give exactly one channel: webhook or email")
        if self.digest != "immediate" and self.email is None:
            raise ValueError("digest: only email subscriptions can receive digests")
        return self


class SubscriptionPatch(BaseModel):
    """Fields to change; a new channel replaces the old one."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    rules: list[str] | None = Field(default=None, min_length=1, max_length=200)
    min_severity: Severity | None = None
    enabled: bool | None = None
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None
    throttle: Throttle | None = None
    digest: DigestMode | None = None

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_rule_patterns(value)

    @model_validator(mode="after")
    def _one_channel(self) -> SubscriptionPatch:
        if self.webhook is not None and self.email is not None:
            raise ValueError("give at most one channel: webhook or email")
        return self


class WebhookOut(BaseModel):
    url: str


class SubscriptionOut(BaseModel):
    id: str
    name: str
    rules: list[str]
    min_severity: Severity
    enabled: bool
    channel: Channel
    webhook: WebhookOut | None = None
    email: EmailTarget | None = None
    throttle: Throttle | None = None
    digest: DigestMode
    source: Literal["file", "api"]
    read_only: bool = Field(description="true for subscriptions from the declarative file")
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, sub: Subscription) -> SubscriptionOut:
        return cls(
            id=sub.id,
            name=sub.name,
            rules=sub.rules,
            min_severity=sub.min_severity,
            enabled=sub.enabled,
            channel=sub.channel,
            webhook=WebhookOut(url=sub.webhook.url) if sub.webhook else None,
            email=sub.email,
            throttle=sub.throttle,
            digest=sub.digest,
            source=sub.source,
            read_only=sub.source == "file",
            disabled_reason=sub.disabled_reason,
            created_at=sub.created_at,
            updated_at=sub.updated_at,
        )


class SubscriptionCreated(SubscriptionOut):
    secret: str | None = Field(
        default=None, description="the webhook signing secret (whsec_...): shown when set, never again"
    )


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


# --- rules ---


class RuleOut(BaseModel):
    id: str
    title: str
    severity: Severity
    tags: list[str]
    description: str = ""
    path: str | None = None

    @classmethod
    def of(cls, info: Any) -> RuleOut:
        path = getattr(info, "path", None)
        return cls(
            id=info.id,
            title=info.title,
            severity=info.severity,
            tags=list(info.tags),
            description=getattr(info, "description", "") or "",
            path=None if path is None else str(path),
        )


class RuleList(BaseModel):
    items: list[RuleOut]
    errors: list[str] = Field(description="problems of the last rejected rule edit (the last good rules run)")


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="test", max_length=200)
    title: str = Field(default="", max_length=2000)
    summary: str = Field(default="", max_length=20000)
    body: str = Field(default="", max_length=60000)
    url: str | None = Field(default=None, max_length=2048)
    source: str | None = Field(default=None, max_length=200)
    published: datetime | None = None
    language: str | None = Field(default=None, max_length=20)


class ExplainIn(ArticleIn):
    """An article, and optionally which rules to explain (default: every rule)."""

    rules: list[str] | None = Field(default=None, max_length=100, description="rule ids to explain")


class RuleTestResult(BaseModel):
    matches: list[Match]


# --- alerts and deliveries ---


class AlertOut(Alert):
    cursor: str = Field(description="stream id of this alert; pass as ?cursor= to continue after it")


class AlertList(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def _ts(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value else None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    outcome: str = Field(description="delivered, retrying, dead or cancelled")
    status_code: int | None = Field(default=None, description="HTTP status or SMTP reply code")
    detail: str = Field(default="", description="the error, or the start of the receiver's answer")
    duration_ms: float = 0.0
    next_at: datetime | None = None


class DeliveryOut(BaseModel):
    id: str
    subscription: str
    channel: str
    kind: Literal["alert", "digest"]
    alert_id: str | None = None
    rule: str | None = None
    period: str | None = None
    status: Literal["pending", "retrying", "delivered", "dead", "cancelled"]
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    log: list[AttemptOut] = Field(default_factory=list)

    @classmethod
    def of(cls, record: dict[str, Any], log: list[dict[str, Any]]) -> DeliveryOut:
        last_status = record.get("last_status") or None
        return cls(
            id=record["id"],
            subscription=record.get("subscription", ""),
            channel=record.get("channel", ""),
            kind="digest" if record.get("kind") == "digest" else "alert",
            alert_id=record.get("alert_id") or None,
            rule=record.get("rule") or None,
            period=record.get("period") or None,
            status=record.get("status", "pending"),
            attempts=int(record.get("attempts", 0)),
            last_status=int(last_status) if last_status else None,
            last_error=record.get("last_error") or None,
            created_at=_ts(record.get("created_at")),
            updated_at=_ts(record.get("updated_at")),
            next_at=_ts(record.get("next_at")) if record.get("status") in ("pending", "retrying") else None,
            delivered_at=_ts(record.get("delivered_at")),
            log=[
                AttemptOut(
                    **{
                        **e,
                        "at": _ts(str(e["at"])),
                        "next_at": _ts(str(e["next_at"]) if e.get("next_at") else None),
                    }
                )
                for e in log
            ],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
