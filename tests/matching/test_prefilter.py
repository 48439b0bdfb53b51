"""The regex prefilter: strings read from a pattern are ones every match contains, so no regex is
ever skipped on a text it matches."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import re2

from service.matching import load_rules
from service.matching.evaluation import load_dataset
from service.matching.prefilter import RegexScreen, required_strings
from service.matching.terms import re2_options
from service.matching.text import fold

ROOT = Path(__file__).resolve().parents[2]

# patterns where a careless reading would require too much: optional pieces, alternatives at the
# top, repeats that may be empty, escapes, classes holding "]" or "|"
TRICKY = [
    r"colou?r chart",
    r"abcd|efgh",
    r"\bnear(?:by)? (?:[\w-]+ ){0,3}?water\b",
    r"(?:sign|signed|signing)+ treaty",
    r"(?:meet)* talks",
    r"x(?:abc|abd)?y (?:alpha|beta)",
    r"price \$\d+\.\d\d",
    r"[]|a]bcdef ghij",
    r"(?:grand )?(?:prix|tour) de france",
    r"^opening words",
    r"closing words$",
    r"two(?: |-)?fold(?:er|ing)?\b",
    r"(?:a|b|c)(?:d|e|f)(?:g|h) wxyz",
    r"\b(?:\w+ ){2}said",
    r"z{2,3}top",
    r"quick(?:ly)?? fox",
    "冻结[^。]{0,4}?资产",
]
PIECES = [
    "colour",
    "color",
    " chart",
    "abcd",
    "efgh",
    "near",
    "nearby",
    " water",
    "sign",
    "signed",
    " treaty",
    "meet",
    " talks",
    "xy",
    "xabcy",
    "xabdy",
    " alpha",
    " beta",
    "price $",
    "12.50",
    "]bcdef ghij",
    "|bcdef ghij",
    "grand ",
    "prix",
    "tour",
    " de france",
    "opening words",
    "closing words",
    "two",
    "-",
    "fold",
    "folder",
    "ing",
    "adg",
    "bfh",
    " wxyz",
    " said",
    "zz",
    "zzz",
    "top",
    "quick",
    "quickly",
    " fox",
    "冻结",
    "的",
    "资产",
    " ",
    "a",
    "1",
]


def test_strings_a_pattern_requires() -> None:
    assert required_strings(r"\bblock \d+\b") == (frozenset({"block "}),)
    assert required_strings(r"\bpull(?:s|ed|ing)? back") == (
        frozenset({"pull back", "pulls back", "pulled back", "pulling back"}),
    )
    # both halves of a sequence are required; either side of an alternation will do
    assert set(required_strings(r"\bsent (?:[\w-]+ )?troops\b")) >= {
        frozenset({"sent "}),
        frozenset({"troops"}),
    }
    assert required_strings(r"abcd|efgh") == (frozenset({"abcd", "efgh"}),)
    assert required_strings(r"price \$\d") == (frozenset({"price $"}),)


@pytest.mark.parametrize(
    "pattern", [r"(?i)block", r"\p{L}+ block", r"(?P<x>block)", r"block\x41", r"[[:alpha:]]x"]
)
def test_syntax_it_does_not_know_requires_nothing(pattern: str) -> None:
    assert required_strings(pattern) == ()


def test_nothing_is_required_where_everything_is_optional() -> None:
    assert required_strings(r"(?:block)?\d+") == ()
    assert required_strings(r"(?:block)*") == ()
    assert required_strings(r"a|\d+") == ()


def test_short_strings_do_not_screen() -> None:
    screen = RegexScreen([r"\bof\b", r"\bblockade\b", r"资产"])
    assert screen.always == (0,)  # "of" is too common; two Chinese characters say more
    assert screen.candidates("the blockade of 资产") == {1, 2}
    assert screen.candidates("nothing here") == set()


def test_a_regex_is_never_screened_out_of_a_text_it_matches() -> None:
    rng = random.Random(20261204)
    screen = RegexScreen(TRICKY)
    compiled = [re2.compile(pattern, re2_options()) for pattern in TRICKY]
    matched = set()
    for _ in range(20_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 8)))
        candidates = screen.candidates(text)
        for regex_id, regex in enumerate(compiled):
            if regex.search(text) is not None:
                matched.add(regex_id)
                assert regex_id in candidates or regex_id in screen.always, (TRICKY[regex_id], text)
    assert matched == set(range(len(TRICKY)))  # every pattern met texts it matches


def test_the_shipped_library_regexes_pass_wherever_they_match() -> None:
    rules = load_rules(ROOT / "rules")
    patterns = [display[1:-1] for display in rules.compiled.regex_displays]
    screen = RegexScreen(patterns)
    assert screen.screened > len(patterns) * 3 // 4  # most of them are screened at all
    compiled = [re2.compile(pattern, re2_options()) for pattern in patterns]
    articles = [item.article() for item in load_dataset(ROOT / "eval" / "dev" / "articles.yaml")]
    articles += [item.article() for item in load_dataset(ROOT / "tests" / "matching" / "library_cases.yaml")]
    found = 0
    for article in articles:
        text = fold(f"{article.title}\n{article.summary}\n{article.body}")
        candidates = screen.candidates(text)
        for regex_id, regex in enumerate(compiled):
            if regex.search(text) is not None:
                found += 1
                assert regex_id in candidates or regex_id in screen.always, (patterns[regex_id], article.id)
    assert found > 100
