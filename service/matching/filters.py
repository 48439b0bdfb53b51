"""Registered filters: the small steps that narrow a part's occurrences.

A part's options (``fields``, ``in_office``, ``where``, ``distinct``,
``abroad_from``, ``not_within``, ``year``/``month: before_published``, ``opens_clause``, ``guards``) each name a
filter here. The compiler lists the filters a part uses, in the order below;
the matcher applies them once per article and part. So the evaluator knows
only conditions and windows, and a new kind of filter is one function and one
schema field, not another branch in the evaluator.

Each filter takes the article's occurrences (for the document and the shared
look-ups: offices, home countries, other parts), the part, and its hits in text
order, and returns the hits to keep (possibly re-keyed, for ``distinct``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from service.matching.compiled import CompiledGuard, CompiledPart
from service.matching.hit import Hit
from service.matching.schema import ALL_FIELDS

if TYPE_CHECKING:
    from service.matching.document import Document
    from service.matching.occurrences import Occurrences

Filter = Callable[["Occurrences", CompiledPart, list[Hit]], list[Hit]]

_REGISTRY: dict[str, Filter] = {}


def registered(name: str) -> Callable[[Filter], Filter]:
    def register(function: Filter) -> Filter:
        _REGISTRY[name] = function
        return function

    return register


def filters_of(part: CompiledPart) -> tuple[str, ...]:
    """The filters a part's options call for, in the order they run: cheap drops first, the
    re-keying of ``distinct`` after every drop, guards (which look at other parts) last."""
    wanted = {
        "fields": len(part.fields) < len(ALL_FIELDS),
        "in_office": part.in_office,
        "where": bool(part.where),
        "abroad_from": part.abroad_from is not None,
        "made_abroad": part.made_abroad is not None,
        "made_at_home": part.made_at_home is not None,
        "origin_elsewhere": part.origin_elsewhere is not None,
        "not_within": part.not_within is not None,
        "distinct": part.distinct is not None and part.distinct != "id",
        "year_before_published": part.year_before_published,
        "month_before_published": part.month_before_published,
        "month_after_published": part.month_after_published,
        "opens_clause": part.opens_clause,
        "guards": bool(part.guards),
    }
    return tuple(name for name in _REGISTRY if wanted.get(name, False))


def apply_filters(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    for name in part.filters:
        hits = _REGISTRY[name](occurrences, part, hits)
        if not hits:
            break
    return hits


@registered("fields")
def _fields(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Only the article fields the part searches."""
    doc = occurrences.doc
    return [hit for hit in hits if doc.field_name(hit.start) in part.fields]


@registered("in_office")
def _in_office(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """People in office on the article's publication date."""
    assert part.entity_list is not None
    name = part.entity_list
    return [hit for hit in hits if occurrences.office_of(name, hit.entity_index)[0]]


@registered("where")
def _where(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Entities whose attributes equal (or are among) the wanted values."""
    assert part.entity_list is not None
    name = part.entity_list
    kept: list[Hit] = []
    for hit in hits:
        attributes = occurrences.entity(name, hit.entity_index).attributes
        if all(_attribute_matches(attributes.get(key), value) for key, value in part.where):
            kept.append(hit)
    return kept


@registered("abroad_from")
def _abroad_from(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Places that are not the home of a sitting person of another list named in the same sentence."""
    assert part.abroad_from is not None
    people = part.abroad_from
    return [hit for hit in hits if hit.entity not in occurrences.home_countries(people, hit.start)]


def _by_origin_and_sentence(
    occurrences: Occurrences,
    part: CompiledPart,
    hits: list[Hit],
    places: str,
    keep: Callable[[str, set[str]], bool],
) -> list[Hit]:
    """Products with an origin that ``keep`` accepts beside the places their sentence names."""
    assert part.entity_list is not None
    name = part.entity_list
    kept: list[Hit] = []
    for hit in hits:
        origin = occurrences.entity(name, hit.entity_index).attributes.get("origin")
        if origin is not None and keep(str(origin), occurrences.places_in_sentence(places, hit.start)):
            kept.append(hit)
    return kept


@registered("made_abroad")
def _made_abroad(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Products made in a country other than one named in the same sentence: the maker's country
    is the other side of a sale ("Switzerland signed for 36 F-35As"), where the sentence names only
    the buyer."""
    assert part.made_abroad is not None
    return _by_origin_and_sentence(
        occurrences, part, hits, part.made_abroad, lambda origin, named: bool(named - {origin})
    )


@registered("made_at_home")
def _made_at_home(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Products whose country of origin is the only country their sentence names: a state buying
    from its own industry ("Japan's Defense Ministry signed with Mitsubishi Heavy Industries for
    more Type-12 missiles"), where a sale abroad would name the other side."""
    assert part.made_at_home is not None
    return _by_origin_and_sentence(
        occurrences, part, hits, part.made_at_home, lambda origin, named: named == {origin}
    )


@registered("origin_elsewhere")
def _origin_elsewhere(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Products whose country of origin their sentence does not name, in an article that names
    another country: a foreign system arriving where the sentence names only a base or a city
    ("the first Rafale jets landed at Pekanbaru air base"), the buyer named elsewhere."""
    assert part.entity_list is not None
    assert part.origin_elsewhere is not None
    name, places = part.entity_list, part.origin_elsewhere
    named = occurrences.places_in_article(places)
    kept: list[Hit] = []
    for hit in hits:
        origin = occurrences.entity(name, hit.entity_index).attributes.get("origin")
        if origin is None or not named - {str(origin)}:
            continue
        if str(origin) not in occurrences.places_in_sentence(places, hit.start):
            kept.append(hit)
    return kept


@registered("not_within")
def _not_within(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences that do not lie inside an occurrence of a ``not_within`` term: what the words
    around a match say, which regular expressions here (RE2) cannot look at."""
    assert part.not_within is not None
    around = occurrences.of(part.not_within)[0]
    if not around:
        return hits
    kept: list[Hit] = []
    for hit in hits:
        inside = next((o for o in around if o.start <= hit.start and hit.end <= o.end), None)
        if inside is None:
            kept.append(hit)
        else:  # kept to explain
            occurrences.set_aside.setdefault(occurrences.key(part), []).append((hit, inside))
    return kept


@registered("distinct")
def _distinct(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Count distinct values of an attribute for 'min': the country a person held office for that
    day ('country'), or any other attribute; entities without one are dropped."""
    assert part.entity_list is not None
    assert part.distinct is not None
    name, attribute = part.entity_list, part.distinct
    kept: list[Hit] = []
    for hit in hits:
        entity = occurrences.entity(name, hit.entity_index)
        key: object
        if attribute == "country":
            key = occurrences.office_of(name, hit.entity_index)[1] or entity.attributes.get("country")
        else:
            value = entity.attributes.get(attribute)
            key = None if value is None else str(value)
        if key is not None:
            kept.append(hit._replace(key=key))
    return kept


_YEAR_DIGITS = 4
# English, then Spanish, French, Portuguese, Italian, German and Turkish, as the folded text spells
# them (no accents; Turkish keeps its dotless i): a guard phrase names the month in the article's own
# language
_MONTH_NAMES = [
    ("january", "jan", "enero", "janvier", "janeiro", "gennaio", "januar", "ocak"),
    ("february", "feb", "febrero", "fevrier", "fevereiro", "febbraio", "februar", "subat"),
    ("march", "mar", "marzo", "mars", "marco", "marz", "maerz", "mart"),
    ("april", "apr", "abril", "avril", "aprile", "nisan"),
    ("may", "mayo", "mai", "maio", "maggio", "mayıs", "mayis"),
    ("june", "jun", "junio", "juin", "junho", "giugno", "juni", "haziran"),
    ("july", "jul", "julio", "juillet", "julho", "luglio", "juli", "temmuz"),
    ("august", "aug", "agosto", "aout", "agustos"),
    ("september", "sept", "sep", "septiembre", "setiembre", "septembre", "setembro", "settembre", "eylul"),
    ("october", "oct", "octubre", "octobre", "outubro", "ottobre", "oktober", "ekim"),
    ("november", "nov", "noviembre", "novembre", "novembro", "kasım", "kasim"),
    ("december", "dec", "diciembre", "decembre", "dezembro", "dicembre", "dezember", "aralık", "aralik"),
]
# Russian months as a time is told ("в ноябре", "в ноябре прошлого года"), and the CJK months, which
# are numbers ("11月に", "11월에")
_RUSSIAN_MONTHS = (
    "январе",
    "феврале",
    "марте",
    "апреле",
    "мае",
    "июне",
    "июле",
    "августе",
    "сентябре",
    "октябре",
    "ноябре",
    "декабре",
)
_NUMBERED_MONTH = re.compile(r"(?<!\d)(1[0-2]|0?[1-9]) ?(?:月|월)")
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, start=1) for name in names} | {
    name: number for number, name in enumerate(_RUSSIAN_MONTHS, start=1)
}
_WORD = re.compile(r"[^\W\d_]+")


@registered("year_before_published")
def _year_before_published(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences that contain a year earlier than the publication year ("in 2019" in 2024)."""
    text, year = occurrences.doc.text, occurrences.doc.day.year
    return [hit for hit in hits if _mentions_year_before(text[hit.start : hit.end], year)]


def _mentions_year_before(text: str, year: int) -> bool:
    return any(
        text[i : i + _YEAR_DIGITS].isdigit() and int(text[i : i + _YEAR_DIGITS]) < year
        for i in range(len(text) - _YEAR_DIGITS + 1)
        if (i == 0 or not text[i - 1].isdigit())
        and (i + _YEAR_DIGITS == len(text) or not text[i + _YEAR_DIGITS].isdigit())
    )


@registered("month_before_published")
def _month_before_published(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences that name a month before the publication month ("in June" in August)."""
    text, month = occurrences.doc.text, occurrences.doc.day.month
    return [hit for hit in hits if _names_month_before(text[hit.start : hit.end], month)]


@registered("month_after_published")
def _month_after_published(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences that name a month after the publication month ("in December" in May), which
    a past event can only have been in the year before."""
    text, month = occurrences.doc.text, occurrences.doc.day.month
    return [hit for hit in hits if _names_month_after(text[hit.start : hit.end], month)]


def _names_month_after(text: str, month: int) -> bool:
    return any(month < _MONTHS.get(word, 0) for word in _WORD.findall(text)) or any(
        month < int(number) <= 12 for number in _NUMBERED_MONTH.findall(text)
    )


def _names_month_before(text: str, month: int) -> bool:
    return any(_MONTHS.get(word, 13) < month for word in _WORD.findall(text)) or any(
        int(number) < month for number in _NUMBERED_MONTH.findall(text)
    )


# What may stand between the start of a clause and a match that opens it
_CLAUSE_OPENING = re.compile(r"[\s\"'(]*(?:(?:and|but|then|so|yet|et|und|y|e)\s+)?")
# A dateline before the first sentence of a body, read on the original text (folding lowercases
# it and makes its dash a space): "NEW DELHI - ", "BEIRUT, March 3 (Reuters) - ", "KYIV: "
_DATELINE = re.compile(r"[A-Z][A-Z.'’ -]{1,40}?(?:,[^\n:–—()]{1,40}?)?(?:\s*\([^)\n]{1,30}\))?\s*[-–—:]\s+")


@registered("opens_clause")
def _opens_clause(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences that open their clause, after at most a conjunction ("In 2019, ...", "; and in
    December 2025 ...") or, at the start of a field, a dateline ("NEW DELHI - Five years ago"):
    what a clause is first placed in holds for all of it."""
    doc = occurrences.doc
    kept = []
    for hit in hits:
        low, _ = doc.clause_span(hit.start)
        opening = _CLAUSE_OPENING.match(doc.text, low, hit.start)
        if (opening is not None and opening.end() == hit.start) or _after_dateline(doc, low, hit.start):
            kept.append(hit)
    return kept


def _after_dateline(doc: Document, low: int, start: int) -> bool:
    """Whether all that stands before ``start`` in its clause is a dateline opening its field."""
    if low != doc.field_span(low)[0] or start - low > 80:
        return False
    _, text, first, last = doc.original(low, start)
    return _DATELINE.fullmatch(text, first, last) is not None


class Veto(NamedTuple):
    """An occurrence of a guarded part dropped because a guard occurred within its scope."""

    part: str
    hit: Hit
    guard: CompiledGuard
    by: Hit


@registered("guards")
def _guards(occurrences: Occurrences, part: CompiledPart, hits: list[Hit]) -> list[Hit]:
    """Occurrences no shared guard vetoes within its scope; the vetoed ones are kept to explain."""
    # most guards occur nowhere in a given article: those cost one lookup, and no window
    active = [guard for guard in part.guards if occurrences.occurs(guard.part)]
    if not active:
        return hits
    key = occurrences.key(part)
    spared = {
        guard.name: {(found.start, found.end) for found in occurrences.of(guard.spares)[0]}
        for guard in active
        if guard.spares is not None
    }
    kept: list[Hit] = []
    for hit in hits:
        for guard in active:
            by = occurrences.guard_veto(guard, hit)
            if by is not None and guard.name in spared and (hit.start, hit.end) in spared[guard.name]:
                occurrences.spared.setdefault(key, []).append(Veto(part.name, hit, guard, by))
                continue
            if by is not None:
                occurrences.vetoes.setdefault(key, []).append(Veto(part.name, hit, guard, by))
                break
        else:
            kept.append(hit)
    return kept


def title_skipped(text: str, start: int, end: int, before: frozenset[str], after: frozenset[str]) -> bool:
    """The title filter of entity lists: whether the word (or two words) before a title mention is
    in ``before`` or the word (or two words) after it in ``after``: "former", "who served as",
    "elect", "from 1998". Such a title names no one in office."""
    if before:
        words: list[str] = []
        stop = start
        for _ in range(2):
            while stop > 0 and text[stop - 1] == " ":
                stop -= 1
            begin = stop
            while begin > 0 and text[begin - 1].isalnum():
                begin -= 1
            if begin == stop:
                break
            words.insert(0, text[begin:stop])
            if len(words) == 1 and words[0] in before:
                return True
            stop = begin
        if len(words) == 2 and " ".join(words) in before:
            return True
    if after:
        words = []
        begin = end
        for _ in range(2):
            while begin < len(text) and text[begin] == " ":
                begin += 1
            stop = begin
            if text.startswith(("'s", "\u2019s"), begin):
                stop = begin + 2  # a possessive is a word here: "leader of Hungary | 's opposition"
            while stop < len(text) and text[stop].isalnum():
                stop += 1
            if begin == stop:
                break
            words.append(text[begin:stop])
            if len(words) == 1 and words[0] in after:
                return True
            begin = stop
        if len(words) == 2 and " ".join(words) in after:
            return True
    return False


def _attribute_matches(value: object, wanted: str | bool | tuple[str, ...]) -> bool:
    values = (
        set(map(str, value))
        if isinstance(value, list)
        else {value if isinstance(value, bool) else str(value)}
    )
    if isinstance(wanted, tuple):
        return bool(values.intersection(wanted))
    return wanted in values
