"""One occurrence of a part in an article's joined text."""

from __future__ import annotations

from typing import NamedTuple


class Hit(NamedTuple):
    start: int
    end: int
    term: str
    entity: str | None
    key: object  # what counts as one distinct occurrence for 'min'
    entity_index: int = -1  # the entity's index in its list, for entity parts


class Mention(NamedTuple):
    """An entity named in the article."""

    start: int
    end: int
    term: str
    entity: int  # index in its list
