"""The one interface every notifier implements, and its error tree.

    DeliveryError            the delivery did not succeed
     ├── RetryableError      try again later (after ``retry_after`` if given)
     └── PermanentError      trying again cannot help; ``disable`` asks to stop the subscription

A notifier never decides *when* to retry; it only says whether retrying can
help. Scheduling, attempts and dead letters belong to the delivery queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel


class DeliveryError(Exception):
    """A delivery that did not succeed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableError(DeliveryError):
    """A failure that may pass: a timeout, a refused connection, a 5xx, a 429."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """A failure that retrying cannot fix: a 4xx, a rejected recipient, a refused address."""

    def __init__(self, message: str, *, status: int | None = None, disable: bool = False) -> None:
        super().__init__(message, status=status)
        self.disable = disable


@dataclass(frozen=True)
class Notification:
    """What to deliver: one alert (or a digest of several), as JSON-ready data, for one delivery."""

    delivery_id: str  # the same on every attempt, so receivers can de-duplicate
    alert: Mapping[str, Any]
    attempt: int = 1
    alerts: Sequence[Mapping[str, Any]] = ()  # a digest's alerts, oldest first; empty for one alert
    period: str = ""  # a digest's period, e.g. "hourly 2026-01-31T09:00Z"
    pause_url: str | None = None  # a signed link that pauses the subscription (emails only)


@dataclass(frozen=True)
class Receipt:
    """What a successful delivery left behind, for the delivery log."""

    status: int | None = None
    detail: str = ""


T_contra = TypeVar("T_contra", bound=BaseModel, contravariant=True)


class Notifier(Protocol[T_contra]):
    """Send one notification to one target; raise RetryableError or PermanentError on failure."""

    async def send(self, notification: Notification, target: T_contra) -> Receipt: ...
