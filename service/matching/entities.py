"""Entity lists compiled for matching: aliases, attributes, and who held which office when.

A person's mentions are their name and aliases. A title such as "the Russian
president" is generated from the list's title templates and means whoever held
that office on the article's publication date, so an article from 2019 and one
from 2026 resolve the same words to different people.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.matching.schema import EntityListFile, Titles
from service.matching.text import fold

OfficeKey = tuple[str, str]  # (country id, role)
LEADER_ROLE = "leader"


@dataclass(frozen=True)
class Tenure:
    key: OfficeKey
    start: dt.date
    end: dt.date | None
    leader: bool

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class CompiledEntity:
    id: str
    name: str
    attributes: Mapping[str, Any]
    tenures: tuple[Tenure, ...]

    def in_office(self, day: dt.date) -> bool:
        return any(tenure.covers(day) for tenure in self.tenures)

    def roles_on(self, day: dt.date) -> frozenset[str]:
        return frozenset(tenure.key[1] for tenure in self.tenures if tenure.covers(day))

    def country_on(self, day: dt.date) -> str | None:
        """The country whose office the entity held that day (a prime minister who later leads the EU)."""
        return next((tenure.key[0] for tenure in self.tenures if tenure.covers(day)), None)


@dataclass(frozen=True)
class AliasMeaning:
    """What a matched alias stands for: an entity, or the holder of an office."""

    entity: int | None
    office: OfficeKey | None = None
    weak: bool = False
    # a title with no country ("the president"): whoever of this role was named last before it
    back_to_role: str | None = None
    # a title whose country is a place word beside it ("le président indonésien"): this role
    beside_place: str | None = None
    # a plural title whose countries are places joined beside it ("the Uzbek and Kyrgyz
    # presidents"): this role, one holder for each place
    joined_places: str | None = None
    # ... and only after a sitting holder named before it in the sentence ("President Tokayev
    # welcomed his Uzbek and Kyrgyz counterparts"), whose equals they are
    after_holder: bool = False


class OfficeIndex:
    """Who held each office on a given day."""

    def __init__(self, entities: list[CompiledEntity]) -> None:
        spans: dict[OfficeKey, list[tuple[dt.date, dt.date | None, int]]] = {}
        for index, entity in enumerate(entities):
            for tenure in entity.tenures:
                spans.setdefault(tenure.key, []).append((tenure.start, tenure.end, index))
                if tenure.leader:
                    spans.setdefault((tenure.key[0], LEADER_ROLE), []).append(
                        (tenure.start, tenure.end, index)
                    )
        self._spans = {
            key: sorted(value, key=lambda span: (span[0], span[2])) for key, value in spans.items()
        }
        self._starts = {key: [span[0] for span in value] for key, value in self._spans.items()}

    def keys(self) -> set[OfficeKey]:
        return set(self._spans)

    def roles(self) -> set[str]:
        return {role for _, role in self._spans}

    def holder(self, key: OfficeKey, day: dt.date) -> int | None:
        spans = self._spans.get(key)
        if not spans:
            return None
        # on a handover day both tenures cover the day: the newer holder wins
        for position in range(bisect_right(self._starts[key], day) - 1, -1, -1):
            _, end, entity = spans[position]
            if end is None or day <= end:
                return entity
        return None


@dataclass
class CompiledEntityList:
    name: str
    entities: list[CompiledEntity]
    ids: dict[str, int]
    offices: OfficeIndex
    # (alias text, case-sensitive, meaning, where it is written), for the compiler to register
    aliases: list[tuple[str, bool, AliasMeaning, tuple[str | int, ...]]] = field(default_factory=list)
    skip_after: frozenset[str] = frozenset()
    skip_before: frozenset[str] = frozenset()
    # entity index -> the folded words that, right before a weak alias, name the entity: its
    # named offices ("Prime Minister Albanese") and its country ("South Korea's Lee")
    introducers: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # the entity list of the places that ``beside_places`` and ``joined_places`` titles take their
    # country from
    places: str | None = None

    @property
    def has_offices(self) -> bool:
        return bool(self.offices.keys())

    def attribute_names(self) -> set[str]:
        return {name for entity in self.entities for name in entity.attributes}


def compile_entities(source: EntityListFile) -> CompiledEntityList:
    entities: list[CompiledEntity] = []
    ids: dict[str, int] = {}
    aliases: list[tuple[str, bool, AliasMeaning, tuple[str | int, ...]]] = []
    for index, entry in enumerate(source.entities):
        country = entry.attributes.get("country")
        tenures = tuple(
            Tenure((office.country or str(country), office.role), office.start, office.end, office.leader)
            for office in entry.offices
        )
        entities.append(CompiledEntity(entry.id, entry.name, dict(entry.attributes), tenures))
        ids.setdefault(entry.id, index)
        # an alias written like the name ("Georgia", weak) sets the name's own options
        restated = {(a if isinstance(a, str) else a.text).casefold() for a in entry.aliases}
        if entry.name.casefold() not in restated:
            aliases.append((entry.name, False, AliasMeaning(index), ("entities", index, "name")))
        for number, alias in enumerate(entry.aliases):
            where = ("entities", index, "aliases", number)
            if isinstance(alias, str):
                aliases.append((alias, False, AliasMeaning(index), where))
            else:
                aliases.append(
                    (alias.text, alias.case_sensitive, AliasMeaning(index, weak=alias.weak), where)
                )
    titles = source.titles
    after = frozenset(fold(word) for word in titles.skip_after) if titles else frozenset()
    before = frozenset(fold(word) for word in titles.skip_before) if titles else frozenset()
    introducers: dict[int, tuple[str, ...]] = {}
    if titles:
        for index, entity in enumerate(entities):
            # the words of a named office only: "leader" or "counterpart" is said of anyone's
            # party leader ("opposition leader Kim")
            words = {
                fold(word)
                for tenure in entity.tenures
                if tenure.key[1] != LEADER_ROLE
                for word in (
                    *titles.roles.get(tenure.key[1], ()),
                    *titles.before_names.get(tenure.key[1], ()),
                )
            }
            if words:
                introducers[index] = tuple(sorted(words))
    return CompiledEntityList(
        source.name, entities, ids, OfficeIndex(entities), aliases, after, before, introducers
    )


def add_place_words(entities: CompiledEntityList, places: CompiledEntityList) -> None:
    """Let a weak alias count right after its person's country too: "South Korea's Lee",
    "Kenyan Ruto" name the sitting holder as surely as "President Lee" does."""
    introducers = dict(entities.introducers)
    for index, entity in enumerate(entities.entities):
        place_index = places.ids.get(str(entity.attributes.get("country")))
        if place_index is None:
            continue
        place = places.entities[place_index]
        names = [place.name, *_strings(place.attributes.get("names"))]
        words = {fold(f"{name}'s") for name in names} | {
            fold(d) for d in _strings(place.attributes.get("demonyms"))
        }
        introducers[index] = tuple(sorted({*introducers.get(index, ()), *words}))
    entities.introducers = introducers


def title_aliases(
    titles: Titles, places: CompiledEntityList, offices: OfficeIndex
) -> list[tuple[str, AliasMeaning]]:
    """Aliases such as 'Russian president' or 'Japan's prime minister', one per office and wording."""
    generated: list[tuple[str, AliasMeaning]] = []
    for key in sorted(offices.keys()):
        country_id, role = key
        place_index = places.ids.get(country_id)
        if place_index is None or role not in titles.roles:
            continue
        place = places.entities[place_index]
        demonyms = _strings(place.attributes.get("demonyms"))
        names = [place.name, *_strings(place.attributes.get("names"))]
        for title in titles.roles[role]:
            for template in titles.templates:
                for text in _fill(template, title, demonyms, names):
                    generated.append((text, AliasMeaning(None, office=key)))
    for role, words in sorted(titles.beside_places.items()):
        for word in words:
            generated.append((word, AliasMeaning(None, beside_place=role)))
    for role, words in sorted(titles.joined_places.items()):
        for word in words:
            generated.append((word, AliasMeaning(None, joined_places=role)))
    for word in titles.joined_counterparts:
        generated.append((word, AliasMeaning(None, joined_places=LEADER_ROLE, after_holder=True)))
    # "the leader" or "the counterpart" is said of anyone: only named offices refer back
    for role in sorted(offices.roles() - {LEADER_ROLE}) if titles.refer_back else ():
        for title in titles.roles.get(role, ()):
            for article in titles.refer_back:
                generated.append((f"{article} {title}", AliasMeaning(None, back_to_role=role)))
    return generated


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if isinstance(value, str) else []


def _fill(template: str, title: str, demonyms: list[str], names: list[str]) -> list[str]:
    results = [template.replace("{title}", title)]
    for placeholder, values in (("{demonym}", demonyms), ("{country}", names)):
        if any(placeholder in text for text in results):
            results = [text.replace(placeholder, value) for text in results for value in values]
    return results
