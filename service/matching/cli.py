"""Command-line tools for rules: ``geoalert match`` and ``geoalert rules ...``.

geoalert match [--rules DIR] [FILE|-]              JSON lines in, one result line per article out
geoalert rules check [DIR]                          validate every file, list every error
geoalert rules test [DIR]                           run every rule's inline examples
geoalert rules eval DATASET [--rules DIR] [--json]  precision / recall against labelled articles
geoalert rules explain [--rule ID] FILE|-           why each rule did or did not match each article
geoalert rules stats CORPUS [--rule ID]             how often each part, guard and veto fires
geoalert rules schema                               JSON Schema of rule and list files
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from pydantic import AliasChoices, Field, ValidationError, model_validator

from service import backtest_cli
from service.matching.collector import collector_paused
from service.matching.errors import RuleLoadError
from service.matching.evaluation import (
    GROUPS,
    NEUTRAL_HEADLINE,
    DatasetError,
    Score,
    evaluate,
    load_dataset,
    unlabelled,
)
from service.matching.examples import run_examples
from service.matching.explain import explain, render
from service.matching.freshness import DEFAULT_MAX_AGE_DAYS, freshness_warnings
from service.matching.loader import load_rules
from service.matching.rulecache import load_rules_cached
from service.matching.ruleset import RuleSet
from service.matching.schema import json_schema
from service.matching.stats import corpus_stats, render_stats
from service.models import Article, Evidence

DEFAULT_RULES = Path("rules")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the rule tools' subcommands to the ``geoalert`` parser."""
    rules_help = "rules directory (default: rules)"
    match = subparsers.add_parser(
        "match",
        help="match articles (JSON lines) against the rules",
        description="Match articles against the rules: one JSON object per input line "
        '(an article: {"id", "title", "body", ...}, see README.md), one line of matches out per article.',
    )
    match.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=rules_help)
    match.add_argument("input", nargs="?", default="-", help="JSON lines file, or - for stdin (default: -)")
    match.set_defaults(func=match_command)

    rules = subparsers.add_parser(
        "rules",
        help="check, test, evaluate rules; print their JSON Schema",
        description="Tools for the YAML rule library.",
    )
    tools = rules.add_subparsers(dest="rules_command", required=True, metavar="TOOL")
    check = tools.add_parser(
        "check",
        help="validate every rule and list file",
        description="Validate every rule and list file and print every error, as path:line:col: message.",
    )
    check.add_argument("directory", nargs="?", type=Path, default=DEFAULT_RULES, help=rules_help)
    check.add_argument(
        "--max-list-age",
        type=int,
        default=DEFAULT_MAX_AGE_DAYS,
        metavar="DAYS",
        help=f"warn about lists whose as_of is older (default: {DEFAULT_MAX_AGE_DAYS}; a list's own "
        "stale_after_days wins)",
    )
    check.set_defaults(func=check_command)
    test = tools.add_parser(
        "test", help="run every rule's inline examples", description="Run every rule's inline examples."
    )
    test.add_argument("directory", nargs="?", type=Path, default=DEFAULT_RULES, help=rules_help)
    test.set_defaults(func=test_command)
    evaluation = tools.add_parser(
        "eval",
        help="precision, recall and F1 against a labelled set",
        description="Precision, recall and F1 of each rule against a labelled set of articles.",
    )
    evaluation.add_argument(
        "dataset", type=Path, help="YAML file of labelled articles, e.g. eval/validation.yaml"
    )
    evaluation.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=rules_help)
    evaluation.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluation.add_argument(
        "--neutral-headlines",
        action="store_true",
        help=f"also score every article under the headline {NEUTRAL_HEADLINE!r}",
    )
    evaluation.set_defaults(func=eval_command)
    why = tools.add_parser("explain", help="why each rule did or did not match each article")
    why.add_argument(
        "input", nargs="?", default="-", help="JSON lines or a labelled set (.yaml); - for stdin (default: -)"
    )
    why.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=rules_help)
    why.add_argument(
        "--rule", action="append", dest="rule_ids", metavar="ID", help="only this rule (repeatable)"
    )
    why.add_argument("--json", action="store_true", help="one JSON explanation per article and line")
    why.set_defaults(func=explain_command)
    stats = tools.add_parser("stats", help="how often each part, guard and veto fires on a corpus")
    stats.add_argument("input", help="JSON lines or a labelled set (.yaml); - for stdin")
    stats.add_argument("--rules", type=Path, default=DEFAULT_RULES, help=rules_help)
    stats.add_argument(
        "--rule", action="append", dest="rule_ids", metavar="ID", help="only this rule (repeatable)"
    )
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    stats.set_defaults(func=stats_command)
    backtest_cli.add_parser(tools, DEFAULT_RULES)
    schema = tools.add_parser(
        "schema",
        help="print the JSON Schema of rule and list files",
        description="Print the JSON Schema of rule and list files, for editor completion and validation.",
    )
    schema.set_defaults(func=schema_command)


def _load(directory: Path, out: TextIO, *, cached: bool = False) -> RuleSet | None:
    try:
        return load_rules_cached(directory) if cached else load_rules(directory)
    except RuleLoadError as exc:
        for error in exc.errors:
            print(error, file=out)
        print(f"{len(exc.errors)} error(s)", file=sys.stderr)
        return None


def check_command(args: argparse.Namespace) -> int:
    rules = _load(args.directory, sys.stdout)
    if rules is None:
        return 1
    print(f"ok: {len(rules.rules)} rules in {args.directory}")
    today = dt.datetime.now(dt.UTC).date()
    warnings = [
        *rules.compiled.warnings,
        *freshness_warnings(rules.compiled.list_facts, today, args.max_list_age),
    ]
    for warning in warnings:
        print(f"warning: {_printable(warning)}")
    if warnings:
        print(f"{len(warnings)} warning(s)", file=sys.stderr)
    return 0


def test_command(args: argparse.Namespace) -> int:
    rules = _load(args.directory, sys.stdout)
    if rules is None:
        return 1
    count, failures = run_examples(rules)
    for failure in failures:
        print(failure)
    print(f"{count} examples, {len(failures)} failed")
    return 1 if failures else 0


def eval_command(args: argparse.Namespace) -> int:
    rules = _load(args.rules, sys.stderr)
    if rules is None:
        return 1
    try:
        dataset = load_dataset(args.dataset)
    except DatasetError as exc:
        print(exc, file=sys.stderr)
        return 2
    scores = evaluate(rules, dataset)
    neutral = evaluate(rules, dataset, headline=NEUTRAL_HEADLINE) if args.neutral_headlines else None
    missing = unlabelled(rules, dataset)
    if args.json:
        report: dict[str, object] = {"dataset": str(args.dataset), "rules": _as_dicts(scores)}
        if neutral is not None:
            report["neutral_headline"] = NEUTRAL_HEADLINE
            report["rules_neutral_headlines"] = _as_dicts(neutral)
        report["unlabelled"] = missing
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    header = (
        f"{'rule':<28} {'set':<7} {'n':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'prec':>6} {'recall':>6} {'f1':>6}"
    )
    if neutral is not None:
        header += f"   {'neutral headlines:':<18} {'prec':>6} {'recall':>6} {'f1':>6}"
    print(header)
    for rule, groups in scores.items():
        for group in GROUPS:
            s = groups[group]
            line = (
                f"{rule:<28} {group:<7} {s.articles:>4} {s.true_positives:>4} {s.false_positives:>4} "
                f"{s.false_negatives:>4} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f}"
            )
            if neutral is not None:
                n = neutral[rule][group]
                line += f"   {'':<18} {n.precision:>6.3f} {n.recall:>6.3f} {n.f1:>6.3f}"
            print(line)
        outcomes = [("", groups)]
        if neutral is not None:
            outcomes.append((", neutral headline", neutral[rule]))
        for suffix, scored in outcomes:
            for group in ("en", "non_en"):
                for label, items in (
                    ("missed", scored[group].misses),
                    ("false alarm", scored[group].false_alarms),
                ):
                    for item in items:
                        print(_printable(f"  {label} ({group}{suffix}): {item}"))
    if not scores:
        print("no rule id is used as a label in this dataset")
    if missing:
        print(f"unlabelled (no article carries their label, so not scored): {', '.join(missing)}")
    return 0


def _as_dicts(scores: dict[str, dict[str, Score]]) -> dict[str, dict[str, dict[str, object]]]:
    return {
        rule: {group: score.as_dict() for group, score in groups.items()} for rule, groups in scores.items()
    }


def explain_command(args: argparse.Namespace) -> int:
    rules = _load(args.rules, sys.stderr)
    if rules is None:
        return 1
    if not _known_rules(rules, args.rule_ids):
        return 2
    try:
        for article in read_articles(args.input, sys.stderr):
            explanation = explain(rules, article, rule_ids=args.rule_ids)
            if args.json:
                print(explanation.model_dump_json(), flush=True)
            else:
                print("\n".join(render(explanation, _printable(article.title))), flush=True)
    except (OSError, DatasetError) as exc:
        print(_printable(str(exc)), file=sys.stderr)
        return 1
    return 0


def stats_command(args: argparse.Namespace) -> int:
    rules = _load(args.rules, sys.stderr)
    if rules is None:
        return 1
    if not _known_rules(rules, args.rule_ids):
        return 2
    try:
        stats = corpus_stats(rules, read_articles(args.input, sys.stderr), rule_ids=args.rule_ids)
    except (OSError, DatasetError) as exc:
        print(_printable(str(exc)), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([s.model_dump() for s in stats], indent=2, ensure_ascii=False))
    else:
        print("\n".join(render_stats(stats)))
    return 0


def _known_rules(rules: RuleSet, rule_ids: list[str] | None) -> bool:
    unknown = [rule for rule in rule_ids or [] if rules.get(rule) is None]
    for rule in unknown:
        print(f"no rule has the id {_printable(rule)!r}", file=sys.stderr)
    return not unknown


def _printable(text: str) -> str:
    """Article text goes to a terminal: no control characters."""
    return "".join(char if char.isprintable() or char == "\n" else " " for char in text)


def read_articles(source: str, err: TextIO) -> Iterator[Article]:
    """Articles from JSON lines (a file or - for stdin), or from a labelled set (.yaml, .yml)."""
    if source.endswith((".yaml", ".yml")):
        for item in load_dataset(Path(source)):
            yield item.article()
        return
    if source == "-":
        yield from _json_articles(sys.stdin, err)
        return
    with open(source, encoding="utf-8") as lines:
        yield from _json_articles(lines, err)


def _json_articles(lines: Iterable[str], err: TextIO) -> Iterator[Article]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield _InputArticle.model_validate_json(line)
        except ValidationError as exc:
            print(f"line {number}: skipped: {_reason(exc)}", file=err)


def schema_command(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


class _InputArticle(Article):
    """One line of ``geoalert match`` input: an article as every entry point takes it (README,
    "Articles"): an id ("guid" is accepted for it) and some text; other keys (an eval set's
    labels, say) are ignored. Read straight from the JSON text, in one pass."""

    id: str = Field(validation_alias=AliasChoices("id", "guid"))

    @model_validator(mode="after")
    def _has_text(self) -> _InputArticle:
        if not (self.title.strip() or self.summary.strip() or self.body.strip()):
            raise ValueError("an article needs a title, a summary or a body")
        return self


def match_command(args: argparse.Namespace) -> int:
    # The rule set lives as long as the process: kept out of the collector's passes, the objects
    # each article makes are collected without walking the few hundred thousand of the rules'.
    # Frozen before the collector runs again: its first pass after the load would walk them all.
    with collector_paused():
        rules = _load(args.rules, sys.stderr, cached=True)
        gc.freeze()
    if rules is None:
        return 1
    if args.input == "-":
        return match_lines(rules, sys.stdin, sys.stdout, sys.stderr)
    try:
        with open(args.input, encoding="utf-8") as lines:
            return match_lines(rules, lines, sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"{args.input}: {exc.strerror}", file=sys.stderr)
        return 1


def match_lines(rules: RuleSet, lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    """Match each JSON line; report malformed lines on ``err`` and return 1 if there were any."""
    malformed = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            article = _InputArticle.model_validate_json(line)
        except ValidationError as exc:
            malformed += 1
            print(f"line {number}: skipped: {_reason(exc)}", file=err)
            continue
        matches = [
            {
                "rule": m.rule,
                "severity": m.severity,
                **({"route": m.route} if m.route else {}),
                "evidence": [_evidence_json(e) for e in m.evidence],
            }
            for m in rules.match(article)
        ]
        print(json.dumps({"id": article.id, "matches": matches}, ensure_ascii=False), file=out, flush=True)
    return 1 if malformed else 0


def _evidence_json(evidence: Evidence) -> dict[str, object]:
    """``evidence.model_dump(mode="json")``, field by field: every field is a str, an int or None
    already, and an article that matches several rules has dozens of pieces of evidence."""
    return {
        "part": evidence.part,
        "field": evidence.field,
        "term": evidence.term,
        "text": evidence.text,
        "start": evidence.start,
        "end": evidence.end,
        "snippet": evidence.snippet,
        "entity": evidence.entity,
        "route": evidence.route,
    }


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"invalid JSON: {first['msg'].removeprefix('Invalid JSON: ')}"
    where = ".".join(str(p) for p in first["loc"]) or "line"
    return f"{where}: {first['msg'].removeprefix('Value error, ')}" + (
        f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    )
