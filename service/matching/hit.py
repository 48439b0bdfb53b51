"""One occurrence of a part in an article's joined text."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple


class Hit(NamedTuple):
    start: int
    end: int
    term: str
    entity: str | None
    key: object  # what counts as one distinct occurrence for 'min'
    entity_index: int = -1  # the entity's index in its list, for entity parts


# Builds a Hit from all six fields without the Python-level __new__ of a NamedTuple: occurrences
# are made by the dozen for every article
new_hit: Callable[[tuple[int, int, str, str | None, object, int]], Hit] = partial(tuple.__new__, Hit)


class Mention(NamedTuple):
    """An entity named in the article."""

    start: int
    end: int
    term: str
    entity: int  # index in its list
