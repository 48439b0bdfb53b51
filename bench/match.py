"""Matching throughput: articles per second for the shipped rules and for generated rule
sets of 10 to 10,000 rules, beside a naive baseline that runs each rule's patterns one by one.

    python bench/match.py [--articles FILE] [--runs 5] [--sizes 10,100,1000,10000] [--no-quiet]
                          [--process 2000]

The engine scans each article once with an automaton holding every literal term of every
rule and list, then evaluates only the rules whose anchor terms occurred. The baseline
compiles each rule part to a regular expression and searches the article with every one of
them, every time; it skips proximity and entity checks, so it does less than the engine and
is a generous lower bound on that approach's cost. Engine figures are medians of several
runs, the rule sets measured in turn within each run so that a busy machine slows them alike.

``--process N`` also times ``geoalert match`` as a whole process (start-up, rule loading, JSON
in and out) on N articles: the set repeated, and a news stream of bench/corpus.py (5% events),
by the CPU time the process used, so that other work on a shared machine does not count; the
start-up alone is measured on empty input.

Generated rules watch made-up names (companies, people, product codes as regexes) with a
shared list of actions, in one sentence or within a few words, some with a sitting leader of
a given country; one rule in fifty watches a name the articles really contain, so larger sets
also match more. The "quiet" set is the largest mix with none of those, showing what the rules
cost when they are about other things.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import re2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.matching import RuleSet, load_rules  # noqa: E402
from service.matching.compiled import CompiledRule  # noqa: E402
from service.matching.condition import And, AtLeast, Near, Node, Not, Or, Ref, Sentence  # noqa: E402
from service.matching.evaluation import load_dataset  # noqa: E402
from service.matching.terms import re2_options  # noqa: E402
from service.matching.text import fold  # noqa: E402
from service.models import Article  # noqa: E402

DEFAULT_ARTICLES = [
    ROOT / "eval" / "dev" / "articles.yaml",
    ROOT / "tests/matching/library_cases.yaml",
]
NAIVE_BUDGET_SECONDS = 3.0
ACTIONS = [
    "~announce",
    "~sign",
    "~acquire",
    "~launch",
    "~ban",
    "~approve",
    "~sue",
    "~raid",
    "~merge",
    "~recall",
    "~invest",
    "~sanction",
    "~close",
    "~open",
    "~hire",
    "~fire",
    "~deliver",
    "~arrest",
    "~elect",
    "~visit",
]
SYLLABLES = [
    "var",
    "nok",
    "tes",
    "sar",
    "il",
    "vo",
    "mar",
    "den",
    "kel",
    "dra",
    "zu",
    "rin",
    "tho",
    "bel",
    "quo",
    "lex",
    "nar",
    "ost",
    "pry",
    "gan",
    "dul",
    "fen",
    "wyr",
    "ix",
    "ab",
    "lor",
    "sem",
    "cav",
]
SUFFIXES = [
    "Holdings",
    "Group",
    "Dynamics",
    "Systems",
    "Minerals",
    "Bank",
    "Foundation",
    "Party",
    "Front",
    "Labs",
]


# -- generated rule sets ---------------------------------------------------------


def synthetic_name(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word} {rng.choice(SUFFIXES)}" if rng.random() < 0.6 else word


def proper_nouns(articles: list[Article]) -> list[str]:
    words = {w for a in articles for w in re.findall(r"\b[A-Z][a-z]{4,}\b", f"{a.title} {a.body}")}
    return sorted(words)


def generated_rule(index: int, rng: random.Random, nouns: list[str], countries: list[str]) -> str:
    """One rule of a mix: names with actions in one sentence, regexes, proximity, entities."""
    names = [synthetic_name(rng) for _ in range(rng.randint(1, 3))]
    if nouns and index % 50 == 49:  # one rule in fifty watches a name the articles really contain
        names = [rng.choice(nouns)]
    kind = index % 10
    parts = {"subject": f"{{any: {names!r}}}", "action": "{any: ['@gen_actions']}"}
    condition = "sentence(subject, action)"
    if kind == 6:
        stem = names[0].split()[0].lower()
        parts["subject"] = f"{{any: ['/\\\\b{stem} ?\\\\d{{2,3}}\\\\b/', {names[0]!r}]}}"
    elif kind == 7:
        parts["noise"] = f"{{any: [{synthetic_name(rng)!r}]}}"
        condition = "near(subject, action, 6) and not noise"
    elif kind == 8:
        parts["leader"] = (
            f"{{entity: leaders, in_office: true, where: {{country: {rng.choice(countries)!r}}}}}"
        )
        condition = "sentence(subject, leader)"
        del parts["action"]
    body = "\n".join(f"  {name}: {spec}" for name, spec in parts.items())
    return f"id: gen_{index:05d}\ntitle: Generated {index}\nparts:\n{body}\ncondition: {condition}\n"


def generated_rules(count: int, directory: Path, nouns: list[str]) -> RuleSet:
    rng = random.Random(count)
    shutil.copytree(ROOT / "rules" / "lists", directory / "lists")
    (directory / "lists" / "gen_actions.yaml").write_text(f"list: gen_actions\nterms: {ACTIONS!r}\n")
    countries = ["US", "RU", "CN", "FR", "DE", "GB", "IN", "JP", "TR", "UA", "KP", "KR", "BR", "IL", "IR"]
    for index in range(count):
        (directory / f"gen_{index:05d}.yaml").write_text(generated_rule(index, rng, nouns, countries))
    return load_rules(directory)


# -- the naive baseline ------------------------------------------------------------


class NaiveMatcher:
    """Each rule part as its own regular expression, all of them searched for every article."""

    def __init__(self, rules: RuleSet) -> None:
        self._rules = [(rule, self._patterns(rules, rule)) for rule in rules.compiled.rules]

    @staticmethod
    def _patterns(rules: RuleSet, rule: CompiledRule) -> dict[str, list[Callable[[str], object]]]:
        compiled = rules.compiled
        patterns: dict[str, list[Callable[[str], object]]] = {}
        for part in rule.parts:
            ids = part.literal_ids
            if part.entity_list is not None:
                ids = tuple(compiled.lists[part.entity_list].meanings)
            variants = {variant for term_id in ids for variant in compiled.literals[term_id].variants}
            searches: list[Callable[[str], object]] = []
            if variants:
                alternation = "|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))
                searches.append(re.compile(rf"(?<!\w)(?:{alternation})(?!\w)").search)
            for regex_id in part.regex_ids:
                searches.append(re2.compile(compiled.regex_displays[regex_id][1:-1], re2_options()).search)
            patterns[part.name] = searches
        return patterns

    def match(self, article: Article) -> list[str]:
        text = fold(f"{article.title}\n{article.summary}\n{article.body}")
        fired = []
        for rule, patterns in self._rules:
            found = {name: any(search(text) for search in searches) for name, searches in patterns.items()}
            if _holds(rule.condition, found):
                fired.append(rule.info.id)
        return fired


def _holds(node: Node, found: dict[str, bool]) -> bool:
    if isinstance(node, Ref):
        return found[node.name]
    if isinstance(node, Not):
        return not _holds(node.operand, found)
    if isinstance(node, (And, Sentence, Near)):
        return all(_holds(operand, found) for operand in node.operands)
    if isinstance(node, Or):
        return any(_holds(operand, found) for operand in node.operands)
    assert isinstance(node, AtLeast)
    return sum(_holds(operand, found) for operand in node.operands) >= node.count


# -- measuring ---------------------------------------------------------------------


def engine_rates(rule_sets: list[RuleSet], articles: list[Article], runs: int) -> list[float]:
    """Median articles per second of each rule set, the sets measured in turn within every run so
    that a busy machine slows them alike."""
    rates: list[list[float]] = [[] for _ in rule_sets]
    for _ in range(runs):
        for index, rules in enumerate(rule_sets):
            started = time.perf_counter()
            for article in articles:
                rules.match(article)
            rates[index].append(len(articles) / (time.perf_counter() - started))
    return [statistics.median(rate) for rate in rates]


def naive_rate(naive: NaiveMatcher, articles: list[Article], runs: int) -> tuple[float, int]:
    """Articles per second, and how many articles fitted in the time budget of one run."""
    rates = []
    measured = len(articles)
    for _ in range(runs):
        started = time.perf_counter()
        done = 0
        for article in articles:
            naive.match(article)
            done += 1
            if time.perf_counter() - started > NAIVE_BUDGET_SECONDS and done >= 5:
                break
        measured = min(measured, done)
        rates.append(done / (time.perf_counter() - started))
    return statistics.median(rates), measured


def process_rate(articles: list[Article], count: int, runs: int) -> tuple[float, float, float]:
    """``geoalert match`` on ``count`` articles (the set repeated) as a child process: articles per
    CPU second with and without start-up, and the start-up's CPU seconds (the best of ``runs``)."""
    lines = []
    for number in range(count):
        article = articles[number % len(articles)].model_dump(mode="json")
        article["id"] = f"{article['id']}-{number}"
        lines.append(json.dumps(article, ensure_ascii=False))
    return _process_rate(lines, runs)


def stream_rate(count: int, runs: int) -> tuple[float, float, float]:
    """The same on ``count`` articles of a news stream (bench/corpus.py: 5% events, the rest
    ordinary news), the mix a deployment reads from its feeds."""
    from bench.corpus import generate

    lines = [json.dumps({"id": item.id, "title": item.title, "body": item.body}) for item in generate(count)]
    return _process_rate(lines, runs)


def _process_rate(lines: list[str], runs: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "articles.jsonl"
        empty = Path(scratch) / "empty.jsonl"
        empty.write_text("")
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

        def cpu_seconds(path: Path) -> float:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [sys.executable, "-m", "service", "match", "--rules", str(ROOT / "rules"), str(path)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

        startup = min(cpu_seconds(empty) for _ in range(runs))
        whole = min(cpu_seconds(path) for _ in range(runs))
    count = len(lines)
    return count / whole, count / max(whole - startup, 1e-9), startup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=Path, help="a labelled set of articles (YAML), as for rules eval")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument(
        "--no-quiet", dest="quiet", action="store_false", help="skip the largest set without matching rules"
    )
    parser.add_argument(
        "--process",
        type=int,
        default=0,
        metavar="N",
        help="also time `geoalert match` as a process on N articles",
    )
    args = parser.parse_args()
    path = args.articles or next(p for p in DEFAULT_ARTICLES if p.exists())
    articles = [item.article() for item in load_dataset(path)]
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"articles: {len(articles)} from {path}; engine: median of {args.runs} runs")
    with tempfile.TemporaryDirectory() as scratch:
        nouns = proper_nouns(articles)
        labels = ["shipped library"] + ["generated"] * len(sizes)
        rule_sets = [load_rules(ROOT / "rules")]
        rule_sets += [generated_rules(size, Path(scratch) / str(size), nouns) for size in sizes]
        if args.quiet:
            # the same mix with no rule about anything these articles mention: what the index costs
            labels.append("generated, quiet")
            rule_sets.append(generated_rules(max(sizes), Path(scratch) / "quiet", []))
    fast = engine_rates(rule_sets, articles, args.runs)
    header = f"{'rule set':<17} {'rules':>6} {'matches/article':>16} {'engine art/s':>13} {'naive art/s':>12}"
    print(header + f" {'speed-up':>9}")
    for label, rules, rate in zip(labels, rule_sets, fast, strict=True):
        matches = sum(len(rules.match(article)) for article in articles) / len(articles)
        naive, measured = naive_rate(NaiveMatcher(rules), articles, max(1, args.runs // 2))
        note = "" if measured == len(articles) else f"  (naive: first {measured} articles)"
        print(
            f"{label:<17} {len(rules.rules):>6} {matches:>16.2f} {rate:>13.0f} {naive:>12.1f} "
            f"{rate / naive:>8.1f}x{note}"
        )
    if 10 in sizes and 10000 in sizes:
        ratio = fast[1 + sizes.index(10)] / fast[1 + sizes.index(10000)]
        print(f"engine slowdown from 10 to 10,000 generated rules: {ratio:.2f}x")
        if args.quiet:
            print(f"  ... to 10,000 quiet rules: {fast[1 + sizes.index(10)] / fast[-1]:.2f}x")
    if args.process:
        runs = max(1, args.runs // 2)
        for label, (whole, matching, startup) in (
            ("these articles", process_rate(articles, args.process, runs)),
            ("a news stream (5% events)", stream_rate(args.process, runs)),
        ):
            print(
                f"geoalert match as a process, {args.process} articles of {label}, shipped library: "
                f"{whole:.0f} articles per CPU second ({matching:.0f} without its {startup:.2f} s start-up)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
