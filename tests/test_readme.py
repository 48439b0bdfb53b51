"""The README stays true: its settings table and its test command."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from service.config import settings_table
from service.matching import load_rules
from service.models import Article, utcnow
from tests.conftest import ROOT


def test_the_readme_documents_every_setting() -> None:
    assert settings_table() in (ROOT / "README.md").read_text(), (
        "regenerate with: python -m service.config README.md"
    )


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev test" in (ROOT / "README.md").read_text()
    assert "./dev test" in (ROOT / ".ci/run").read_text()


def test_the_readme_rule_example_is_a_valid_rule_whose_examples_hold(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("```yaml\nid: leader_summit") + len("```yaml\n")
    example = text[start : text.index("```", start)].replace("id: leader_summit", "id: readme_summit")
    shutil.copytree(ROOT / "rules/lists", tmp_path / "lists")
    (tmp_path / "readme_summit.yaml").write_text(example)

    rules = load_rules(tmp_path)

    doc = yaml.safe_load(example)
    for body in doc["examples"]["match"]:
        assert [m.rule for m in rules.match(Article(id="x", body=body, published=utcnow()))] == [
            "readme_summit"
        ]
    for body in doc["examples"]["no_match"]:
        assert rules.match(Article(id="x", body=body, published=utcnow())) == []
