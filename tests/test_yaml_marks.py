"""Positions in a YAML document found by key when asked for are those written down at load."""

from __future__ import annotations

import pytest

import service.yamlfile as yamlfile
from service.errors import ConfigFileError
from service.yamlfile import MAX_VALUES, MarkedDocument, load_marked

DOCUMENT = """\
id: sample
parts:
  who: {entity: leaders, where: {country: FR}}
  what:
    any: [sign, "meet", '/f ?16/']
shared: &shared
  - a
  - [b, c]
again: *shared
examples:
  match:
    - "Macron met Scholz"
    - title: a title
      body: |
        two
        lines
"""


def written_down(source: str) -> MarkedDocument:
    """The document as loaded with every position written down at load."""
    plain = yamlfile._plain_tree
    yamlfile._plain_tree = lambda root: False
    try:
        return load_marked(source, "doc.yaml")
    finally:
        yamlfile._plain_tree = plain


def test_positions_by_key_are_the_written_down_ones() -> None:
    eager, lazy = written_down(DOCUMENT), load_marked(DOCUMENT, "doc.yaml")
    assert lazy.root is not None
    assert eager.root is None
    assert lazy.data == eager.data
    locations = set(eager.value_marks) | set(eager.key_marks)
    assert ("again", 1, 0) in locations  # inside an alias, as everywhere else
    asked = locations | {(*loc, extra) for loc in locations for extra in ("missing", 0, 5, -1)}
    for loc in asked:
        for at_key in (False, True):
            assert lazy.locate(loc, at_key=at_key) == eager.locate(loc, at_key=at_key), (loc, at_key)


def test_a_key_and_its_value_have_their_own_positions() -> None:
    doc = load_marked(DOCUMENT, "doc.yaml")
    meet = doc.locate(("parts", "what", "any", 1))
    assert (meet.line, meet.col) == (5, 17)
    assert doc.locate(("parts", "who"), at_key=True).col == 3
    assert doc.locate(("parts", "who")).col == 8
    assert doc.locate(("examples", "match", 1, "nothing here")).line == 13  # the nearest ancestor
    assert doc.problem_inside(("examples", "match", 1, "body"), 4, "here").line == 16  # "lines"


@pytest.mark.parametrize(
    "source",
    [
        "base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n",  # a merge
        "1: one\n2.5: two and a half\n",  # keys that are no strings
    ],
)
def test_documents_that_are_not_plain_trees_are_written_down(source: str) -> None:
    doc = load_marked(source, "doc.yaml")
    assert doc.root is None
    assert doc.value_marks


def test_a_repeated_key_is_still_an_error_at_its_line() -> None:
    with pytest.raises(ConfigFileError, match=r"doc.yaml:3:1: duplicate key 'a' \(first at line 1\)"):
        load_marked("a: 1\nb: 2\na: 3\n", "doc.yaml")


def test_an_alias_bomb_is_still_refused_where_it_grows_too_large() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [{', '.join(['*' + previous] * 10)}]\n"
    with pytest.raises(ConfigFileError, match=f"more than {MAX_VALUES} values") as caught:
        load_marked(bomb, "bomb.yaml")
    assert caught.value.problems[0].line == 6  # 'f': ten times 'e', whose 100,000 are within
