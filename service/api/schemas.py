"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Optional

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model

from notifiers.console import ConsoleTarget
from notifiers.email import EmailTarget
from service.delivery.record import Attempt, DeliveryKind, DeliveryRecord, DeliveryStatus
from service.delivery.record import Outcome as AttemptOutcome
from service.models import Alert, Match, Severity
from service.rulefiles import MAX_RULE_BYTES
from service.subscriptions.model import CHANNEL_TARGETS, Channel, Subscription, SubscriptionFields


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
# The request body of POST is ``SubscriptionSpec`` itself (the model the subscriptions file uses too);
# PATCH takes the same fields, each optional; reads show the same fields with secrets left out.


def _patch_model() -> type[BaseModel]:
    """Every written field of a subscription, each optional: generated, so it cannot drift from the spec."""
    fields: dict[str, Any] = {
        name: (Optional[info.annotation], Field(default=None, description=info.description))  # noqa: UP045
        for name, info in SubscriptionFields.model_fields.items()
    }
    for channel, target in CHANNEL_TARGETS.items():
        fields[channel] = (
            target | None,
            Field(default=None, description="a new channel replaces the old one"),
        )
    return create_model(
        "SubscriptionPatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Fields to change; a new channel replaces the old one; null clears an optional field.",
        **fields,
    )


SubscriptionPatch = _patch_model()


class WebhookOut(BaseModel):
    url: str


class AppriseOut(BaseModel):
    urls: list[str] = Field(description="redacted: tokens and passwords are never shown")
    title: str | None = None
    template: str | None = None


class SubscriptionOut(SubscriptionFields):
    model_config = ConfigDict(extra="ignore")

    id: str
    channel: Channel
    console: ConsoleTarget | None = None
    webhook: WebhookOut | None = None
    email: EmailTarget | None = None
    apprise: AppriseOut | None = None
    snoozed: bool = Field(default=False, description="true while snooze_until is in the future")
    source: Literal["file", "api"]
    read_only: bool = Field(description="true for subscriptions from the declarative file")
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, sub: Subscription, *, now: datetime | None = None) -> SubscriptionOut:
        now = now or datetime.now(UTC)
        fields = {name: getattr(sub, name) for name in SubscriptionFields.model_fields}
        return cls(
            **fields,
            id=sub.id,
            channel=sub.channel,
            console=ConsoleTarget(**sub.console.model_dump()) if sub.console else None,
            webhook=WebhookOut(url=sub.webhook.url) if sub.webhook else None,
            email=EmailTarget(to=sub.email.to) if sub.email else None,
            apprise=AppriseOut(**sub.apprise.model_dump()) if sub.apprise else None,
            snoozed=sub.snooze_until is not None and sub.snooze_until > now,
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
    warnings: list[str] = Field(
        default_factory=list, description="accepted, but something will stop it working (e.g. no SMTP server)"
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

    id: str = Field(
        default="test",
        max_length=200,
        validation_alias=AliasChoices("id", "guid"),
        description='the article\'s id ("guid" is accepted for it, as in feeds and pushes)',
    )
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
    yaml: str | None = Field(
        default=None,
        max_length=MAX_RULE_BYTES,
        description="an edit of the one rule named in 'rules' (or a new rule), explained instead of the "
        "saved version; nothing is saved",
    )


class RuleTestResult(BaseModel):
    matches: list[Match]


# --- alerts and deliveries ---


class AlertOut(Alert):
    cursor: str = Field(description="stream id of this alert; pass as ?cursor= to continue after it")


class AlertList(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    outcome: AttemptOutcome = Field(description="delivered, retrying, dead or cancelled")
    status_code: int | None = Field(default=None, description="HTTP status or SMTP reply code")
    detail: str = Field(default="", description="the error, or the start of the receiver's answer")
    duration_ms: float = 0.0
    next_at: datetime | None = None

    @classmethod
    def of(cls, entry: Attempt) -> AttemptOut:
        return cls(
            attempt=entry.attempt,
            at=datetime.fromtimestamp(entry.at, UTC),
            outcome=entry.outcome,
            status_code=entry.status_code,
            detail=entry.detail,
            duration_ms=entry.duration_ms,
            next_at=_ts(entry.next_at),
        )


class DeliveryOut(BaseModel):
    id: str
    subscription: str
    channel: str
    kind: DeliveryKind
    alert_id: str | None = None
    rule: str | None = None
    period: str | None = None
    status: DeliveryStatus
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    next_at: datetime | None = None
    delivered_at: datetime | None = None
    log: list[AttemptOut] = Field(default_factory=list)

    @classmethod
    def of(cls, record: DeliveryRecord, log: list[Attempt]) -> DeliveryOut:
        return cls(
            id=record.id,
            subscription=record.subscription,
            channel=record.channel,
            kind=record.kind,
            alert_id=record.alert_id or None,
            rule=record.rule or None,
            period=record.period or None,
            status=record.status,
            attempts=record.attempts,
            last_status=record.last_status,
            last_error=record.last_error or None,
            created_at=_ts(record.created_at),
            updated_at=_ts(record.updated_at),
            next_at=_ts(record.next_at) if record.status in ("pending", "retrying") else None,
            delivered_at=_ts(record.delivered_at),
            log=[AttemptOut.of(e) for e in log],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
