"""The shipped rule library: it loads, its examples hold, and it meets the quality bars."""

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from service.matching import RuleSet, load_rules
from service.matching.evaluation import evaluate, load_dataset
from service.matching.examples import run_examples
from service.matching.loader import rule_files
from service.matching.schema import json_schema
from service.matching.text import fold
from service.models import Article

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
CASES = Path(__file__).parent / "library_cases.yaml"
DEV_SET = ROOT / "eval" / "dev" / "articles.yaml"
SEED = Path(__file__).parent / "seed_article.txt"


@pytest.fixture(scope="module")
def library() -> RuleSet:
    return load_rules(RULES)


class _DatesAsText(yaml.CSafeLoader):
    """Reads YAML as editors validate it: an unquoted date is a string."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def test_every_shipped_file_validates_against_the_published_schema() -> None:
    schema = json_schema()
    for path in rule_files(RULES):
        jsonschema.validate(yaml.load(path.read_text(encoding="utf-8"), Loader=_DatesAsText), schema)


def test_every_inline_example_holds(library: RuleSet) -> None:
    count, failures = run_examples(library)
    assert count > 0
    assert [str(f) for f in failures] == []


def test_the_library_ships_more_than_the_two_core_rules(library: RuleSet) -> None:
    ids = {info.id for info in library.rules}
    assert {"leader_summit", "arms_deal"} < ids
    assert len(ids) >= 5


def seed_article() -> Article:
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    # the file starts with a section name, then the headline (twice), then the body
    return Article(id="seed", title=lines[1], body="\n\n".join(lines[3:]))


def test_the_seed_article_raises_one_summit_and_one_arms_deal(library: RuleSet) -> None:
    assert sorted(m.rule for m in library.match(seed_article())) == ["arms_deal", "leader_summit"]


def test_the_seed_article_as_one_block_of_text_raises_the_same(library: RuleSet) -> None:
    article = Article(id="seed", body=SEED.read_text(encoding="utf-8"))
    assert sorted(m.rule for m in library.match(article)) == ["arms_deal", "leader_summit"]


def test_the_seed_summit_is_explained_by_the_two_leaders_and_the_meeting(library: RuleSet) -> None:
    [summit] = [m for m in library.match(seed_article()) if m.rule == "leader_summit"]
    assert {e.entity for e in summit.evidence if e.part == "leaders"} == {"kim-jong-un", "vladimir-putin"}
    assert any(e.part == "meeting" for e in summit.evidence)


def test_a_former_leaders_meeting_in_an_archive_is_not_current(library: RuleSet) -> None:
    article = Article(id="a", title="Obama meets Raúl Castro in Havana", published=dt.datetime(2016, 3, 21))
    later = article.model_copy(update={"published": dt.datetime(2024, 3, 21)})
    assert [m.rule for m in library.match(article)] == ["leader_summit"]
    assert library.match(later) == []


@pytest.mark.parametrize("rule", ["leader_summit", "arms_deal"])
def test_regression_cases_meet_the_quality_bar(library: RuleSet, rule: str) -> None:
    score = evaluate(library, load_dataset(CASES))[rule]["all"]
    assert min(score.precision, score.recall) >= 0.95, json.dumps(score.as_dict(), indent=1)


@pytest.mark.parametrize("rule", ["leader_summit", "arms_deal"])
def test_the_development_set_meets_the_quality_bar_in_english(library: RuleSet, rule: str) -> None:
    score = evaluate(library, load_dataset(DEV_SET))[rule]["en"]
    assert min(score.precision, score.recall) >= 0.95, json.dumps(score.as_dict(), indent=1)


def _alias_texts(entity: dict[str, object]) -> list[str]:
    aliases = entity.get("aliases") or []
    assert isinstance(aliases, list)
    return [alias["text"] if isinstance(alias, dict) else str(alias) for alias in aliases]


def test_the_english_adjectives_list_follows_the_countries_list() -> None:
    """rules/lists/demonyms_en.yaml is the countries list's English adjectives written out for regexes; a
    demonym added to or dropped from the countries list must not leave it behind."""
    countries = yaml.safe_load((RULES / "lists" / "countries.yaml").read_text(encoding="utf-8"))
    adjectives = set(
        yaml.safe_load((RULES / "lists" / "demonyms_en.yaml").read_text(encoding="utf-8"))["terms"]
    )
    known: set[str] = set()
    expected: set[str] = set()
    for entity in countries["entities"]:
        attributes = entity.get("attributes") or {}
        names = {fold(text) for text in [entity["name"], *_alias_texts(entity), *attributes.get("names", [])]}
        demonyms = {fold(text) for text in attributes.get("demonyms", [])}
        known |= names | demonyms
        # an abbreviation ("U.S.") or a demonym that is also the state's name ("Luxembourg") is not an adjective
        expected |= {
            fold(text)
            for text in attributes.get("demonyms", [])
            if not text.isupper() and "." not in text and fold(text) not in names
        }
    assert adjectives <= known, sorted(adjectives - known)
    assert expected <= adjectives, sorted(expected - adjectives)
