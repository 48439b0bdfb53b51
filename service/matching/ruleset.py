"""A loaded, immutable set of rules: what the matcher stage calls per article."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from service.matching.compiled import CompiledRules
from service.matching.compiler import Compiler
from service.matching.document import Document
from service.matching.evaluate import ArticleMatcher
from service.matching.info import RuleInfo
from service.models import Article, Match

logger = logging.getLogger(__name__)

# the same validation as ``Match(...)``, from one dict: without the keyword arguments and the
# Python frame of the model's __init__ (see evaluate._validate_evidence)
_validate_match: Callable[[dict[str, object]], Match] = Match.__pydantic_validator__.validate_python


class RuleSet:
    """Compiled rules. ``match`` is pure and keeps no state, so threads may share one set."""

    def __init__(self, compiled: CompiledRules | None = None, version: str = "") -> None:
        self._compiled = compiled or Compiler().compile([], [], [])
        self._by_id = {rule.info.id: rule for rule in self._compiled.rules}
        self.version = version

    @property
    def rules(self) -> list[RuleInfo]:
        return [rule.info for rule in self._compiled.rules]

    @property
    def compiled(self) -> CompiledRules:
        """The compiled form, for tools that inspect rules (examples, benchmarks)."""
        return self._compiled

    def get(self, rule_id: str) -> RuleInfo | None:
        rule = self._by_id.get(rule_id)
        return rule.info if rule else None

    def match(
        self,
        article: Article,
        *,
        now: dt.datetime | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> list[Match]:
        """The rules that match ``article``, each with its evidence.

        Office checks use the article's publication date, or ``now`` (default:
        the current time) when it has none. A rule that raises is skipped;
        ``on_error`` hears its id.
        """
        doc = Document(article, now or dt.datetime.now(dt.UTC))
        return self.match_document(doc, article_id=article.id, on_error=on_error)

    def match_document(
        self, doc: Document, *, article_id: str = "", on_error: Callable[[str], None] | None = None
    ) -> list[Match]:
        """``match`` on an article already prepared: a backtest prepares each article once for two sets."""
        screen = self._compiled.anchor_scanner
        if screen is not None and not screen.literal_hits(doc.text, doc):
            return []  # no anchor term: no rule is a candidate (ArticleMatcher.candidates)
        matcher = ArticleMatcher(self._compiled, doc)
        matches: list[Match] = []
        for index in matcher.candidates():
            rule = self._compiled.rules[index]
            try:
                decision = matcher.evaluate(rule)
            except Exception:
                # One rule tripping over an odd article must not cost the
                # other rules their alerts, nor send the article to the
                # dead-letter stream; the log names both so it can be fixed.
                logger.exception("rule %r failed on article %r and was skipped", rule.info.id, article_id)
                if on_error is not None:
                    on_error(rule.info.id)
                continue
            if decision is None:
                continue
            info = rule.info
            matches.append(
                _validate_match(
                    {
                        "rule": info.id,
                        "title": info.title,
                        "severity": info.severity,
                        "tags": info.tags,  # validated into a list of the match's own
                        "route": decision.route,
                        "evidence": decision.evidence,
                    }
                )
            )
        return matches
