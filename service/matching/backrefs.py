"""Titles that refer back: "the president", "the crown prince".

A title with no country names no one by itself, but news uses it for someone it
named a sentence or two before ("Saudi Crown Prince Mohammed bin Salman ... The
crown prince greeted Trump on the tarmac"). Such a title names the sitting
holder of that role named last before it; with no one of that role named
before, it names no one. A title followed by "of" ("the president of the
European Commission", "le président de la Commission") is someone else's and
names no one either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from service.matching.hit import Mention

# "the president of the bank", "le président de la Commission", "der Präsident des Verbands"
_OF = re.compile(r" (?:of|de|del|della|di|du|des|der|do|da|dos|das|van|von)\b")


class BareTitle(NamedTuple):
    start: int
    end: int
    term: str
    role: str
    after_holder: bool = False  # names someone only after a sitting holder in its sentence


def refer_back(
    mentions: list[Mention], titles: list[BareTitle], text: str, roles_of: Callable[[int], frozenset[str]]
) -> list[Mention]:
    """``mentions`` (in text order) with each bare title that refers back added as a mention of
    its person. One pass in text order: the last person named in each role is kept as it goes."""
    titles = sorted(titles)
    last_in_role: dict[str, int] = {}
    roles: dict[int, frozenset[str]] = {}
    resolved: list[Mention] = []
    position = 0
    for title in titles:
        while position < len(mentions) and mentions[position].start < title.start:
            named = mentions[position]
            held = roles.get(named.entity)
            if held is None:
                held = roles[named.entity] = roles_of(named.entity)
            for role in held:
                last_in_role[role] = named.entity
            position += 1
        if position < len(mentions) and mentions[position].start < title.end:
            continue  # part of a longer mention ("the president of France")
        if position < len(mentions) and not text[title.end : mentions[position].start].strip(" ,"):
            continue  # the title of the name right after it ("el presidente Donald Trump firmó")
        if position > 0 and mentions[position - 1].end > title.start:
            continue
        if _OF.match(text, title.end):
            continue
        entity = last_in_role.get(title.role)
        if entity is not None:
            resolved.append(Mention(title.start, title.end, title.term, entity))
    if not resolved:
        return mentions
    return sorted([*mentions, *resolved], key=lambda mention: (mention.start, -mention.end))


# between a title and the country it is of: "le président | de l'| Indonésie", "presidente | del |
# Brasile", "Präsident | von | Frankreich"; nothing but a space for an adjective ("président indonésien")
_TO_PLACE = re.compile(r" (?:(?:de la|de l'|de|du|del|della|dell'|di|do|da|von) ?)?")


# between a country and its title before it: a space ("der polnische Staatschef"), nothing in
# Chinese and Japanese ("俄罗斯总统"), Hindi's "of" ("श्रीलंका के राष्ट्रपति")
_FROM_PLACE = (" ", "", " के ", " की ")


def titles_beside_places(
    titles: list[BareTitle], places: list[Mention], text: str
) -> list[tuple[BareTitle, Mention]]:
    """Each title paired with the place named right after it, or right before it (German puts
    the adjective first: "der polnische Staatschef"). The words of the templates' languages come
    with their country already ("the Indonesian president"); these are the word orders they do
    not fit."""
    if not titles or not places:
        return []
    by_start = {place.start: place for place in places}
    by_end = {place.end: place for place in places}
    paired: list[tuple[BareTitle, Mention]] = []
    for title in titles:
        link = _TO_PLACE.match(text, title.end)
        place = by_start.get(link.end()) if link else None
        for gap in _FROM_PLACE if place is None else ():
            if text.endswith(gap, 0, title.start) and title.start - len(gap) in by_end:
                place = by_end[title.start - len(gap)]
                break
        if place is not None:
            paired.append((title, place))
    return paired


# between two places joined before a plural title: "Uzbek and Kyrgyz", "Kazakh, Kyrgyz and Tajik",
# "russes et chinois"
_JOIN = re.compile(r"\s*,\s*(?:(?:and|&|y|e|et|und|i|ve|и)\s+)?|\s+(?:and|&|y|e|et|und|i|ve|и)\s+")


def titles_of_joined_places(
    titles: list[BareTitle], places: list[Mention], text: str
) -> list[tuple[BareTitle, list[Mention]]]:
    """Each plural title with the two or more places joined right before it ("the Uzbek and Kyrgyz
    presidents", "his Kazakh, Kyrgyz and Tajik counterparts"). One place alone names no one
    ("Kyrgyz leaders" may be any), and neither do places after the title ("the presidents of
    Bosnia, Croatia and Serbia"), a form that anniversaries use as often as news, with no name to
    tell a sitting holder from one long gone."""
    if not titles or len(places) < 2:
        return []
    by_end = {place.end: place for place in places}
    paired: list[tuple[BareTitle, list[Mention]]] = []
    for title in titles:
        joined: list[Mention] = []
        place = by_end.get(title.start - 1) if text[title.start - 1 : title.start] == " " else None
        while place is not None:
            joined.append(place)
            place = _joined_before(place, by_end, text)
        if len(joined) >= 2:
            paired.append((title, joined[::-1]))
    return paired


def _joined_before(place: Mention, by_end: dict[int, Mention], text: str) -> Mention | None:
    """The place joined to ``place`` right before it, if any ("Kazakh, Kyrgyz and ...")."""
    for end in range(place.start - 1, max(place.start - 9, -1), -1):
        before = by_end.get(end)
        if before is not None:
            return before if _JOIN.fullmatch(text, end, place.start) else None
    return None
