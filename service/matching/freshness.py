"""Are the lists' facts still fresh? Ages of ``as_of`` dates, and entries marked unverified.

Leaders change office and weapons change hands; a gazetteer checked long ago
quietly turns real summits into misses and former leaders into alerts.
``rules check`` and ``/healthz`` warn about lists whose ``as_of`` is older than
a set age, and list the entries (or offices) still marked unverified: either
with ``unverified: true`` or with "unverified" in their note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.matching.schema import EntityListFile, TermListFile
from service.yamlfile import MarkedDocument

DEFAULT_MAX_AGE_DAYS = 90


@dataclass(frozen=True)
class Unverified:
    path: str
    line: int
    entry: str  # entity id, with the office role for an office
    note: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: unverified: {self.entry}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class ListFacts:
    """What a list says of its own freshness."""

    name: str
    path: str
    line: int  # of 'as_of', or of 'list' when it has none
    as_of: dt.date | None
    stale_after_days: int | None
    unverified: tuple[Unverified, ...] = ()

    def to_record(self) -> dict[str, object]:
        """As JSON for the status the matcher publishes: places of unverified entries, not their text."""
        return {
            "name": self.name,
            "path": self.path,
            "line": self.line,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "stale_after_days": self.stale_after_days,
            "unverified": [[entry.path, entry.line] for entry in self.unverified],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ListFacts:
        as_of = record.get("as_of")
        return cls(
            name=str(record["name"]),
            path=str(record["path"]),
            line=int(record["line"]),
            as_of=dt.date.fromisoformat(as_of) if isinstance(as_of, str) else None,
            stale_after_days=record.get("stale_after_days"),
            unverified=tuple(Unverified(str(p), int(n), "", "") for p, n in record.get("unverified", [])),
        )

    def age_days(self, today: dt.date) -> int | None:
        return None if self.as_of is None else (today - self.as_of).days

    def stale(self, today: dt.date, default_days: int) -> bool:
        age = self.age_days(today)
        return age is not None and age > (self.stale_after_days or default_days)


def list_facts(model: TermListFile | EntityListFile, doc: MarkedDocument) -> ListFacts:
    line = doc.locate(("as_of",) if model.as_of is not None else ("list",), at_key=True).line
    unverified: list[Unverified] = []
    if isinstance(model, EntityListFile):
        for index, entity in enumerate(model.entities):
            if entity.unverified or "unverified" in entity.note.lower():
                where = doc.locate(("entities", index)).line
                unverified.append(Unverified(doc.path, where, entity.id, entity.note))
            for number, office in enumerate(entity.offices):
                if office.unverified or "unverified" in office.note.lower():
                    where = doc.locate(("entities", index, "offices", number)).line
                    unverified.append(
                        Unverified(doc.path, where, f"{entity.id} ({office.role})", office.note)
                    )
    return ListFacts(model.name, doc.path, line, model.as_of, model.stale_after_days, tuple(unverified))


def freshness_warnings(
    facts: tuple[ListFacts, ...], today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> list[str]:
    """One line per stale list, then one per unverified entry, each as path:line: message."""
    lines: list[str] = []
    for fact in facts:
        if fact.stale(today, max_age_days):
            limit = fact.stale_after_days or max_age_days
            lines.append(
                f"{fact.path}:{fact.line}: list '{fact.name}' was last checked on {fact.as_of} "
                f"({fact.age_days(today)} days ago, more than {limit})"
            )
    for fact in facts:
        lines.extend(str(entry) for entry in fact.unverified)
    return lines


def freshness_summary(
    facts: tuple[ListFacts, ...], today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> dict[str, object]:
    """For /healthz, which anyone may read: names, dates and places, none of the lists' text."""
    return {
        "max_age_days": max_age_days,
        "stale": [
            {"list": f.name, "as_of": str(f.as_of), "age_days": f.age_days(today)}
            for f in facts
            if f.stale(today, max_age_days)
        ],
        "unverified": sum(len(f.unverified) for f in facts),
        "unverified_at": [f"{entry.path}:{entry.line}" for f in facts for entry in f.unverified][:100],
    }
