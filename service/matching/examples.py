"""Run every rule's inline examples: the rule's own specification."""

from __future__ import annotations

from dataclasses import dataclass

from service.matching.ruleset import RuleSet


@dataclass(frozen=True)
class ExampleFailure:
    rule: str
    path: str
    line: int
    expect_match: bool
    number: int
    excerpt: str

    def __str__(self) -> str:
        kind = "match" if self.expect_match else "no_match"
        outcome = "did not match" if self.expect_match else "matched"
        return f"{self.path}:{self.line}: {self.rule}: {kind} example {self.number} {outcome}: {self.excerpt}"


def run_examples(rules: RuleSet) -> tuple[int, list[ExampleFailure]]:
    """How many examples ran, and the ones whose outcome was not the expected one."""
    count = 0
    failures: list[ExampleFailure] = []
    for rule in rules.compiled.rules:
        for example in rule.examples:
            count += 1
            matched = any(match.rule == rule.info.id for match in rules.match(example.article))
            if matched != example.expect_match:
                article = example.article
                text = " ".join((article.title or article.body).split())
                excerpt = text if len(text) <= 80 else text[:79] + "…"
                failures.append(
                    ExampleFailure(
                        rule.info.id,
                        rule.info.path,
                        example.line,
                        example.expect_match,
                        example.number,
                        excerpt,
                    )
                )
    return count, failures
