from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from service.matching import RuleSet, load_rules

RuleWriter = Callable[[dict[str, str]], Path]

PEOPLE = """
list: people
entities:
  - id: putin
    name: Vladimir Putin
    aliases: [Putin, Путин*]
    attributes: {country: RU}
    offices: [{role: president, from: 2012-05-07, leader: true}]
  - id: medvedev
    name: Dmitry Medvedev
    attributes: {country: RU}
    offices: [{role: president, from: 2008-05-07, to: 2012-05-07, leader: true}]
  - id: kim
    name: Kim Jong Un
    aliases: [{text: Kim, case_sensitive: true, weak: true}, 김정은]
    attributes: {country: KP}
    offices: [{role: leader, from: 2011-12-17, leader: true}]
  - id: biden
    name: Joe Biden
    aliases: [Biden]
    attributes: {country: US}
    offices: [{role: president, from: 2021-01-20, to: 2025-01-20, leader: true}]
titles:
  places: places
  roles: {president: [president], leader: [leader]}
  templates: ["{demonym} {title}", "{country}'s {title}"]
  skip_after: [former]
  skip_before: [elect]
"""

PLACES = """
list: places
entities:
  - {id: RU, name: Russia, aliases: [Russian], attributes: {demonyms: [Russian]}}
  - {id: KP, name: North Korea, aliases: [North Korean], attributes: {demonyms: [North Korean]}}
  - {id: US, name: United States, aliases: [American], attributes: {demonyms: [American, U.S.]}}
"""


@pytest.fixture
def write_rules(tmp_path: Path) -> RuleWriter:
    """Write files (relative path -> YAML text) into a fresh rules directory and return it."""

    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / "rules" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return tmp_path / "rules"

    return write


@pytest.fixture
def rule_with(write_rules: RuleWriter) -> Callable[[str, str], RuleSet]:
    """A rule set of one rule ``r`` with the given parts and condition, and the people/places lists."""

    def build(parts: str, condition: str) -> RuleSet:
        body = "id: r\ntitle: R\nparts:\n" + textwrap.indent(textwrap.dedent(parts).strip(), "  ")
        body += f"\ncondition: {condition}\n"
        directory = write_rules({"r.yaml": body, "lists/people.yaml": PEOPLE, "lists/places.yaml": PLACES})
        return load_rules(directory)

    return build
