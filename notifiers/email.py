"""Alert emails over SMTP (aiosmtplib): one mail per alert, or one per digest period.

Security is what the operator configured, never less: with ``starttls`` a
server that does not offer STARTTLS is an error, not a plain-text fallback.
Headers are built with the ``email`` package from values stripped of line
breaks, so article text can never add a header (no ``Bcc:`` smuggled in a
title). The Message-ID derives from the delivery id, so a retried mail
carries the same one and mail clients can fold duplicates.
"""

from __future__ import annotations

import re
import ssl
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from typing import Literal

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, field_validator

from notifiers.base import Notification, PermanentError, Receipt, RetryableError

# Deliberately plain: one @, no spaces, quotes or line breaks. Exotic but
# valid addresses are refused rather than risk header trouble.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def check_address(value: str) -> str:
    if len(value) > 254 or not _ADDRESS.match(value):
        raise ValueError(f"{value[:80]!r} is not an email address like name@example.org")
    return value


class EmailTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(
        min_length=1, max_length=50, description="recipients", examples=[["analyst@example.org"]]
    )

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(v) for v in value]


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None
    port: int | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "geoalert@localhost"
    ca_file: str | None = None
    timeout: float = 30.0
    domain: str = "geoalert.local"  # right-hand side of Message-IDs

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


def one_line(text: object, limit: int = 200) -> str:
    """Header-safe text: control characters and line breaks become spaces, runs of space one."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


_templates = Environment(
    loader=PackageLoader("notifiers", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def subject_of(notification: Notification) -> str:
    if notification.alerts:
        count = len(notification.alerts)
        return one_line(f"[geoalert] {notification.period} digest: {count} alert{'s' if count != 1 else ''}")
    rule = notification.alert.get("rule", {})
    title = notification.alert.get("article", {}).get("title", "")
    return one_line(
        f"[geoalert] {str(rule.get('severity', '')).upper()} {rule.get('title') or rule.get('id')}: {title}"
    )


def build_message(notification: Notification, target: EmailTarget, config: SmtpConfig) -> EmailMessage:
    alerts = list(notification.alerts) or [notification.alert]
    context = {
        "alerts": alerts,
        "period": notification.period,
        "digest": bool(notification.alerts),
        "pause_url": notification.pause_url,
    }
    name = "digest" if notification.alerts else "alert"
    message = EmailMessage(policy=SMTP_POLICY)
    message["Subject"] = subject_of(notification)
    message["From"] = config.sender
    message["To"] = ", ".join(target.to)
    message["Date"] = formatdate(localtime=False)
    # The same on every attempt: a retry after a lost reply is recognisably the same mail.
    message["Message-ID"] = f"<{notification.delivery_id}@{config.domain}>"
    message["X-Geoalert-Delivery"] = notification.delivery_id
    message["Auto-Submitted"] = "auto-generated"
    if notification.pause_url:
        # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", and one click POSTs to it.
        message["List-Unsubscribe"] = f"<{notification.pause_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_templates.get_template(f"{name}.txt.j2").render(context))
    message.add_alternative(_templates.get_template(f"{name}.html.j2").render(context), subtype="html")
    return message


class EmailNotifier:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._tls: ssl.SSLContext | None = None
        if config.security != "none":
            self._tls = ssl.create_default_context(cafile=config.ca_file)

    async def send(self, notification: Notification, target: EmailTarget) -> Receipt:
        config = self.config
        if config.host is None:
            raise RetryableError("no SMTP server configured (set GEOALERT_SMTP_HOST)")
        message = build_message(notification, target, config)
        try:
            errors, reply = await aiosmtplib.send(
                message,
                sender=config.sender,
                recipients=target.to,
                hostname=config.host,
                port=config.effective_port,
                username=config.username,
                password=config.password,
                use_tls=config.security == "tls",
                # True means required: a server without STARTTLS is an error, never plain text.
                start_tls=config.security == "starttls",
                tls_context=self._tls,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if all(500 <= c < 600 for c in codes):
                raise PermanentError(f"every recipient refused: {detail}", status=max(codes)) from exc
            raise RetryableError(f"recipients refused for now: {detail}", status=min(codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            text = f"SMTP server answered {exc.code} {one_line(exc.message)}"
            if 500 <= exc.code < 600:
                raise PermanentError(text, status=exc.code) from exc
            raise RetryableError(text, status=exc.code) from exc
        except aiosmtplib.SMTPException as exc:
            if "STARTTLS" in str(exc):
                raise RetryableError(
                    "SMTP server does not offer STARTTLS, which GEOALERT_SMTP_SECURITY=starttls requires;"
                    " not sending in plain text"
                ) from exc
            raise RetryableError(f"SMTP: {one_line(exc)}") from exc
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise RetryableError(f"SMTP connection failed: {one_line(exc) or type(exc).__name__}") from exc
        refused = "; ".join(f"{addr}: {r.code} {one_line(r.message)}" for addr, r in errors.items())
        detail = one_line(reply) + (f" (refused: {refused})" if refused else "")
        return Receipt(status=250, detail=detail)
