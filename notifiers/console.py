"""Alerts printed on a terminal: one readable line, then the evidence.

Every field comes from outside (feeds, pushed articles, rules), so each line
is made printable before it is written: a title or source cannot move the
cursor, set the window title or start a line that looks like another alert.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

from notifiers.base import Notification, Receipt
from notifiers.printable import printable


class ConsoleTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: bool = True  # print the evidence lines under each alert
    max_evidence: int = 8  # lines of evidence at most; the webhook and the API carry all of it


def format_alert(alert: Any, *, evidence: bool = True, max_evidence: int = 8) -> str:
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
        shown: list[str] = []
        seen: set[tuple[str, str, str]] = set()
        for ev in alert.get("evidence", []):
            snippet = " ".join(str(ev.get("snippet", "")).split())
            # A summary that repeats the body's opening yields the same evidence twice.
            if (key := (ev["part"], ev["text"], snippet)) in seen:
                continue
            seen.add(key)
            shown.append(
                f"    {ev['part']}: {ev['text']!r} ({ev['field']} {ev['start']}-{ev['end']}) {snippet}"
            )
        lines += shown[:max_evidence]
        if len(shown) > max_evidence:
            lines.append(f"    (and {len(shown) - max_evidence} more)")
    return "\n".join(printable(line) for line in lines)


class ConsoleNotifier:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, notification: Notification, target: ConsoleTarget) -> Receipt:
        out = self._stream or sys.stdout
        text = format_alert(notification.alert, evidence=target.evidence, max_evidence=target.max_evidence)
        print(text, file=out, flush=True)
        return Receipt(detail="printed")
