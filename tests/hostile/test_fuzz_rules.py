"""Fuzzing the YAML loader and the rule compiler: any text gives a document or located errors, never a crash.

The rules directory, the feeds file and the subscriptions file are written by
people, and sometimes pasted from elsewhere; whatever they hold, loading ends
in a value or in ``path:line:col`` problems (``ConfigFileError``,
``RuleLoadError``), within the loader's bounds. Hypothesis draws raw YAML-ish
text (anchors, aliases, merges, tags, flow and block collections, odd
characters) and rule files of every shape (conditions from the grammar's
tokens, terms in every syntax). Bounded in time so it runs in CI on every
change: a fixed number of examples, derandomised so a failure reproduces, no
example database written.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import ConfigFileError, FileProblem
from service.matching import RuleLoadError, RuleSet, load_rules
from service.models import Article
from service.yamlfile import load_marked

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

# --- raw YAML text ---------------------------------------------------------------------------

yaml_pieces = st.sampled_from(
    [
        "\n", "\n  ", "\n    ", "- ", ": ", ":", ",", "[", "]", "{", "}", "&a ", "*a", "&b ", "*b", "<<: ",
        "? ", "|", ">", "'", '"', "#", "!!str ", "!!python/object:os.system ", "!!binary ", "!tag ", "%YAML 1.1\n",
        "---\n", "...\n", "id", "condition", "parts", "list", "terms", "feeds", "subscriptions", "x",
        "1", "-1", "0x1F", "1e400", ".inf", "null", "~", "yes", "2026-13-45", "\t", "\x00", "\x1b[2J",
        "\ufeff", "\u202e", "é", "\ud7ff", "  ",
    ]
)  # fmt: skip
yaml_text = st.lists(yaml_pieces | st.text(max_size=8), max_size=80).map("".join)


def assert_located(problems: list[FileProblem], path: str) -> None:
    assert problems
    for problem in problems:
        assert problem.path.startswith(path)
        assert problem.line >= 1
        assert problem.col >= 1
        assert problem.message


@FUZZ
@given(yaml_text)
def test_any_text_is_a_document_or_located_problems(text: str) -> None:
    try:
        load_marked(text, "fuzz.yaml")
    except ConfigFileError as exc:
        assert_located(exc.problems, "fuzz.yaml")


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_are_a_document_or_located_problems(raw: bytes) -> None:
    try:
        load_marked(raw, "fuzz.yaml")
    except ConfigFileError as exc:
        assert_located(exc.problems, "fuzz.yaml")


# --- rule files ------------------------------------------------------------------------------

PART_NAMES = ["a", "b", "c", "leaders", "not_a_part"]
condition_tokens = st.sampled_from(
    [*PART_NAMES, "and", "or", "not", "(", ")", ",", "2", "0", "99", "of", "sentence(", "clause(", "near(",
     "sentence", "near", "@", "-", "é", "_x"]
)  # fmt: skip
conditions = st.lists(condition_tokens, min_size=0, max_size=25).map(" ".join) | st.builds(
    lambda depth, op: f"{op}(" * depth + "a" + ")" * depth, st.integers(0, 40), st.sampled_from(["", "not "])
)
terms = (
    st.sampled_from(
        ["meet", "~meet", "summit*", "/mee?t/", "/(/", "/a{1000}{1000}/", "@words", "@missing", "@self", "*",
         "~", "//", "", " ", "phrase of words", "Путин", "北京", "a\u0301", "O'Brien", "x" * 300]
    )
    | st.text(max_size=12)
    | st.fixed_dictionaries(
        {"text": st.text(max_size=10)},
        optional={"case_sensitive": st.booleans(), "weak": st.booleans(), "bogus": st.integers()},
    )
)  # fmt: skip
selection = st.fixed_dictionaries(
    {},
    optional={
        "any": st.lists(terms, max_size=5),
        "all": st.lists(terms, max_size=3),
        "entity": st.sampled_from(["people", "missing", "words"]),
        "min": st.integers(-1, 5),
        "in_office": st.booleans(),
        "fields": st.lists(st.sampled_from(["title", "body", "summary", "nowhere"]), max_size=3),
    },
)
rule_documents = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["fuzz", "other", "", "has space", "and"]) | st.integers(),
        "title": st.text(max_size=20),
        "severity": st.sampled_from(["low", "medium", "high", "critical", "bogus"]),
        "parts": st.dictionaries(st.sampled_from(PART_NAMES), selection, max_size=4),
        "condition": conditions,
        "tags": st.lists(st.text(max_size=5), max_size=3),
        "examples": st.fixed_dictionaries(
            {}, optional={"match": st.lists(st.text(max_size=30), max_size=2), "no_match": st.just(["x"])}
        ),
        "unknown_key": st.integers(),
    },
)
term_list = st.fixed_dictionaries(
    {"list": st.sampled_from(["words", "self"]), "terms": st.lists(terms, max_size=6)}
)
people_list = st.just(
    {
        "list": "people",
        "entities": [
            {"id": "p1", "name": "Ann Leader", "attributes": {"country": "XX"}},
            {"id": "p2", "name": "Bo Chief", "aliases": ["Bo"]},
        ],
    }
)
files = st.lists(st.one_of(rule_documents, term_list, people_list), min_size=1, max_size=4)
articles = st.builds(
    lambda title, body: Article(id="fuzz", title=title, body=body, published=NOW),
    st.text(max_size=60),
    st.text(max_size=300) | st.just("Ann Leader and Bo Chief meet at a summit in Geneva."),
)


def write(directory: Path, documents: list[dict[str, Any]]) -> None:
    for n, document in enumerate(documents):
        (directory / f"f{n}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))


@FUZZ
@given(files, articles)
def test_any_rules_directory_compiles_or_reports_located_errors(
    documents: list[dict[str, Any]], article: Article
) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        write(directory, documents)
        try:
            rules = load_rules(directory)
        except RuleLoadError as exc:
            assert_located(exc.errors, name)
            return
    assert isinstance(rules, RuleSet)
    failed: list[str] = []
    rules.match(article, now=NOW, on_error=failed.append)
    assert failed == []  # a rule that compiled evaluates without raising


@FUZZ
@given(st.lists(yaml_text, min_size=1, max_size=3))
def test_any_text_in_a_rules_directory_is_reported_by_file_and_line(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as name:
        for n, text in enumerate(texts):
            (Path(name) / f"f{n}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_rules(Path(name))
        except RuleLoadError as exc:
            assert_located(exc.errors, name)
