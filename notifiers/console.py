"""Alerts printed on a terminal: one readable line, then the evidence."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

from notifiers.base import Notification, Receipt


class ConsoleTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: bool = True  # print the evidence lines under each alert


def format_alert(alert: Any, *, evidence: bool = True) -> str:
    rule = alert["rule"]
    article = alert["article"]
    published = article.get("published") or ""
    where = " ".join(p for p in (article.get("source") or "", article.get("url") or "") if p)
    lines = [
        f"ALERT {rule['severity'].upper():<8} {rule['id']}: {article.get('title', '')!r}"
        + (f" [{published[:10]}]" if published else "")
        + (f" {where}" if where else "")
    ]
    if evidence:
        for ev in alert.get("evidence", []):
            snippet = " ".join(str(ev.get("snippet", "")).split())
            lines.append(
                f"    {ev['part']}: {ev['text']!r} ({ev['field']} {ev['start']}-{ev['end']}) …{snippet}…"
            )
    return "\n".join(lines)


class ConsoleNotifier:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, notification: Notification, target: ConsoleTarget) -> Receipt:
        out = self._stream or sys.stdout
        print(format_alert(notification.alert, evidence=target.evidence), file=out, flush=True)
        return Receipt(detail="printed")
