"""Alerts printed on a terminal: one line that says what happened, then why, in a few lines.

The evidence a rule gives can run to a dozen hits (every country, every
leader's title); on a terminal only the most telling are worth a line. So the
console shows the passage where the rule's parts come together (the hit of
each part nearest to the others), with the matched words marked, and counts
the rest: the webhook, the email and the API carry all of it.

Every field comes from outside (feeds, pushed articles, rules), so each line
is made printable before it is written: a title or source cannot move the
cursor, set the window title or start a line that looks like another alert.
Colour is added after that, and only on a terminal, never with NO_COLOR set.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict

from notifiers.base import Notification, Receipt
from notifiers.printable import one_line, printable


class ConsoleTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evidence: bool = True  # print the passage and the matched words under each alert
    max_evidence: int = 4  # matched words named at most; the webhook and the API carry all of them


NEAR = 60  # characters from the passage's anchor within which a part's second entity counts too
SENTENCE_END = re.compile(r"[.!?;]\s")
FIELD_ORDER = {"title": 0, "summary": 1, "body": 2}

RESET = "\033[0m"
SEVERITY_STYLE = {
    "critical": "\033[1;97;41m",  # bold white on red
    "high": "\033[1;31m",  # bold red
    "medium": "\033[1;33m",  # bold yellow
    "low": "\033[1m",
    "info": "\033[2m",
}
MARK = "\033[1m", "\033[22m"  # bold on, bold off


def use_colour(stream: TextIO) -> bool:
    """Colour only for a person at a terminal who has not asked for none (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _telling(evidence: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The hits that make the case, in text order, and the one their passage is cut around.

    The anchor is the hit around which every part of the rule is found closest
    together; each part then shows its hit nearest the anchor (and a second
    entity right next to it: the two leaders of a summit). A demonym far from
    the passage ("according to American news agencies") is not shown as a party.
    """
    hits = [e for e in evidence if isinstance(e.get("start"), int) and isinstance(e.get("text"), str)]
    if not hits:
        return [], None
    parts = {h["part"] for h in hits}

    def spread(anchor: dict[str, Any]) -> tuple[int, int, int, int]:
        same = [h for h in hits if h["field"] == anchor["field"]]
        distances = [
            min((abs(h["start"] - anchor["start"]) for h in same if h["part"] == p), default=None)
            for p in parts
        ]
        found = [d for d in distances if d is not None]
        return (-len(found), sum(found), FIELD_ORDER.get(anchor["field"], 3), anchor["start"])

    anchor = min(hits, key=spread)
    chosen: list[dict[str, Any]] = []
    for part in sorted(parts):
        near = sorted(
            (h for h in hits if h["part"] == part and h["field"] == anchor["field"]),
            key=lambda h: (abs(h["start"] - anchor["start"]), -_name_like(h)),
        )
        if not near:
            continue
        picked = [near[0]]
        first_side = near[0]["start"] - anchor["start"]
        for hit in near[1:]:
            offset = hit["start"] - anchor["start"]
            if abs(offset) > NEAR:
                break
            # The other party of the act stands on the other side of it ("Kim ... meets ... Putin");
            # a second country after "supplying Russia" is where the war is, not a party.
            if offset * first_side < 0 and _entity(hit) != _entity(near[0]) and _same_sentence(anchor, hit):
                picked.append(hit)
                break
        # Of several words for one entity ("Russian President", "Vladimir Putin"), the name.
        chosen += [_best_word(h, hits) for h in picked]
    chosen.sort(key=lambda h: h["start"])
    return chosen, anchor


def _same_sentence(anchor: dict[str, Any], hit: dict[str, Any]) -> bool:
    """No sentence ends between the two hits, as far as the anchor's snippet shows (True if it cannot tell)."""
    snippet = one_line(str(anchor.get("snippet", "")))
    at = snippet.find(anchor["text"])
    if at < 0:
        return True
    base = anchor["start"] - at
    low, high = sorted((anchor["start"], hit["start"]))
    between = snippet[max(low - base, 0) : max(high - base, 0)]
    return SENTENCE_END.search(between) is None


def _entity(hit: dict[str, Any]) -> str:
    return str(hit.get("entity") or hit["text"]).casefold()


def _name_like(hit: dict[str, Any]) -> bool:
    """A proper name (every word capitalised in the rule's term), not a title or a description."""
    words = str(hit.get("term") or hit["text"]).split()
    return bool(words) and all(w[:1].isupper() for w in words)


def _best_word(hit: dict[str, Any], hits: list[dict[str, Any]]) -> dict[str, Any]:
    if _name_like(hit) or not hit.get("entity"):
        return hit
    same = [
        h
        for h in hits
        if h["part"] == hit["part"]
        and h["field"] == hit["field"]
        and h.get("entity") == hit["entity"]
        and _name_like(h)
        and abs(h["start"] - hit["start"]) <= NEAR
    ]
    return min(same, key=lambda h: abs(h["start"] - hit["start"]), default=hit)


def _passage(anchor: dict[str, Any], chosen: list[dict[str, Any]], colour: bool) -> str:
    """The anchor's snippet, with each chosen hit it contains marked."""
    snippet = one_line(str(anchor.get("snippet", "")))
    at = snippet.find(anchor["text"])
    if at < 0:
        return printable(snippet)
    base = anchor["start"] - at
    marks = []
    for hit in chosen:
        offset = hit["start"] - base
        if hit["field"] == anchor["field"] and snippet[offset : offset + len(hit["text"])] == hit["text"]:
            marks.append((offset, offset + len(hit["text"])))
    on, off = MARK if colour else ("[", "]")
    out, last = [], 0
    for start, end in sorted(set(marks)):
        if start < last:
            continue
        out += [printable(snippet[last:start]), on, printable(snippet[start:end]), off]
        last = end
    out.append(printable(snippet[last:]))
    return "".join(out)


def format_alert(alert: Any, *, evidence: bool = True, max_evidence: int = 4, colour: bool = False) -> str:
    rule = alert["rule"]
    article = alert["article"]
    published = article.get("published") or ""
    where = " ".join(p for p in (article.get("source") or "", article.get("url") or "") if p)
    severity = str(rule.get("severity", "")).lower()
    label = printable(f"{severity.upper():<8}")
    if colour:
        label = (
            f"{SEVERITY_STYLE.get(severity, '')}{severity.upper()}{RESET}{' ' * max(8 - len(severity), 0)}"
        )
    lines = [
        f"ALERT {label} "
        + printable(
            f"{rule['id']}: {article.get('title', '')!r}"
            + (f" [{published[:10]}]" if published else "")
            + (f" {where}" if where else "")
        )
    ]
    hits = [e for e in alert.get("evidence", []) if isinstance(e, dict)]
    if evidence and hits:
        chosen, anchor = _telling(hits)
        named = chosen[:max_evidence]
        words = ", ".join(printable(f"{h['part']} {one_line(h['text'])!r}") for h in named)
        if anchor is not None:
            same = [h for h in named if h["field"] == anchor["field"]]
            span = f"{min(h['start'] for h in same)}-{max(h['end'] for h in same)}"
            lines.append(f"    {words} ({anchor['field']} {span})")
            lines.append(f"    {_passage(anchor, named, colour)}")
        rest = Counter(h["part"] for h in hits if h not in named)
        if rest:
            counts = ", ".join(printable(f"{part} ×{n}") for part, n in sorted(rest.items()))
            lines.append(f"    (and {sum(rest.values())} more in the webhook, email and API: {counts})")
    return "\n".join(lines)


class ConsoleNotifier:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, notification: Notification, target: ConsoleTarget) -> Receipt:
        out = self._stream or sys.stdout
        text = format_alert(
            notification.alert,
            evidence=target.evidence,
            max_evidence=target.max_evidence,
            colour=use_colour(out),
        )
        print(text, file=out, flush=True)
        return Receipt(detail="printed")
