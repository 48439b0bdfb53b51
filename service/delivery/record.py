"""The delivery record as it crosses into Redis: one typed class, one ``to_hash`` and one ``from_hash``.

A delivery is a Redis hash (its Lua scripts read ``status``, ``attempts``,
``leased_until``, ``endpoint`` and ``alert_id``), so every field travels as
text. Times are Unix seconds with millisecond precision, absent values are
empty strings; this module is the only place that knows, so a field is
never written one way and read another.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

DeliveryStatus = Literal["pending", "retrying", "delivered", "dead", "cancelled"]
STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset({"delivered", "dead", "cancelled"})
DeliveryKind = Literal["alert", "digest"]
Outcome = Literal["delivered", "retrying", "dead", "cancelled"]  # of one attempt, in the log


def _time(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _float(text: str) -> float | None:
    return float(text) if text else None


def _int(text: str) -> int | None:
    return int(text) if text else None


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    subscription: str
    channel: str
    endpoint: str
    kind: DeliveryKind = "alert"
    status: DeliveryStatus = "pending"
    attempts: int = 0
    round_base: int = 0  # attempts made before the last redelivery: the retry schedule restarts there
    created_at: float | None = None
    updated_at: float | None = None
    next_at: float | None = None
    alert_id: str = ""
    rule: str = ""  # the rule id (a digest: its rules, comma-separated)
    period: str = ""  # a digest's period, e.g. "hourly 2030-01-01 09:00 UTC"
    alerts: str = ""  # a digest's alerts, as JSON
    last_status: int | None = None
    last_error: str = ""
    delivered_at: float | None = None
    latency_ms: float | None = None
    leased_until: str = ""  # the lease token, compared as text by the scripts

    def to_hash(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _TIMES:
                out[f.name] = _time(value)
            elif f.name == "latency_ms":
                out[f.name] = "" if value is None else f"{value:.1f}"
            else:
                out[f.name] = "" if value is None else str(value)
        # absent is empty: a new record does not carry empty fields (the take script sets the lease)
        return {k: v for k, v in out.items() if v != ""}

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> DeliveryRecord | None:
        """The record of a Redis hash (bytes or text), or None for a hash that is gone (empty)."""
        data = {
            (k.decode() if isinstance(k, bytes) else str(k)): (v.decode() if isinstance(v, bytes) else str(v))
            for k, v in raw.items()
        }
        if not data.get("id"):
            return None
        status = data.get("status", "pending")
        kind = data.get("kind", "alert")
        return cls(
            id=data["id"],
            subscription=data.get("subscription", ""),
            channel=data.get("channel", ""),
            endpoint=data.get("endpoint", ""),
            kind="digest" if kind == "digest" else "alert",
            status=status if status in STATUSES else "pending",
            attempts=int(data.get("attempts") or 0),
            round_base=int(data.get("round_base") or 0),
            created_at=_float(data.get("created_at", "")),
            updated_at=_float(data.get("updated_at", "")),
            next_at=_float(data.get("next_at", "")),
            alert_id=data.get("alert_id", ""),
            rule=data.get("rule", ""),
            period=data.get("period", ""),
            alerts=data.get("alerts", ""),
            last_status=_int(data.get("last_status", "")),
            last_error=data.get("last_error", ""),
            delivered_at=_float(data.get("delivered_at", "")),
            latency_ms=_float(data.get("latency_ms", "")),
            leased_until=data.get("leased_until", ""),
        )

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def but(self, **changes: Any) -> DeliveryRecord:
        return replace(self, **changes)


_TIMES = frozenset({"created_at", "updated_at", "next_at", "delivered_at"})


@dataclass(frozen=True)
class Settled:
    """The fields one attempt's outcome writes to its record (those left None are not touched)."""

    updated_at: float
    last_error: str | None = None
    last_status: int | None = None
    delivered_at: float | None = None
    latency_ms: float | None = None
    writes_status: bool = False  # write last_status even when None: an attempt that had none clears it

    def to_hash(self) -> dict[str, str]:
        out = {"updated_at": _time(self.updated_at)}
        if self.last_error is not None:
            out["last_error"] = self.last_error[:500]
        if self.last_status is not None or self.writes_status:
            out["last_status"] = "" if self.last_status is None else str(self.last_status)
        if self.delivered_at is not None:
            out["delivered_at"] = _time(self.delivered_at)
        if self.latency_ms is not None:
            out["latency_ms"] = f"{self.latency_ms:.1f}"
        return out


@dataclass(frozen=True)
class Attempt:
    """One entry of a delivery's log (a JSON list item in Redis)."""

    attempt: int
    at: float
    outcome: Outcome
    status_code: int | None = None
    detail: str = ""
    duration_ms: float = 0.0
    next_at: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Attempt:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
