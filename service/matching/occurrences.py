"""Where each part of each rule occurs in one article, after its filters.

The scanner finds every term of every rule and list in one pass; this turns
those raw spans into a part's occurrences: term parts take the spans of their
terms, entity parts the mentions of their list's entities (titles resolved to
whoever held the office that day, weak aliases checked, shorter mentions
inside longer ones dropped). The part's registered filters (``filters``) then
narrow them. Occurrences are computed once per article and part, and shared
by parts that differ only in name.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

from service.matching.backrefs import BareTitle, refer_back, titles_beside_places, titles_of_joined_places
from service.matching.compiled import CompiledGuard, CompiledPart, CompiledRules
from service.matching.document import Document
from service.matching.entities import CompiledEntity, CompiledEntityList
from service.matching.filters import Veto, apply_filters, title_skipped
from service.matching.hit import Hit, Mention, new_hit

# Between two people named together ("Putin and North Korean leader Kim", "Sánchez y Sheinbaum",
# "Xi, Putin"): a comma or a conjunction of one of the lists' languages, then at most a few words,
# each a capitalised name or one of the title words below. A verb ("Putin and his ministers
# welcomed Kim") parts them.
_JOINED = re.compile(
    r"(\s*,\s*(?:(?:and|&|y|e|et|und|i|och|og|en|ve|и|і|та)\s+)?|\s+(?:and|&|y|e|et|und|i|och|og|en|ve|и|і|та)\s+)"
    r"((?:[\w.'’-]+\s+){0,4})",
    re.UNICODE,
)
# A count right before a weak alias, with at most two words of kind between ("20 new Typhoons",
# "a dozen Apaches", "36 more"): things are counted, namesakes and storms seldom are. A year is
# no count ("since 2019 Typhoons have hit").
_COUNTED = re.compile(
    r"(?:^|[^\w.,])(?:(?!(?:1[89]|20)\d\d\b)\d[\d,.]*|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|sixty|a dozen|dozens of|several|a fleet of|a squadron of)"
    r"(?:\s+(?!(?:and|or|of|the|to|in|on|at|by|for|from|with)\b)[\w-]+){0,2}\s+$"
)
_TITLE_WORDS = frozenset(
    [
        "his",
        "her",
        "their",
        "its",
        "the",
        "counterpart",
        "counterparts",
        "leader",
        "leaders",
        "president",
        "prime",
        "minister",
        "premier",
        "chancellor",
        "king",
        "queen",
        "crown",
        "prince",
        "emir",
        "sultan",
        "emperor",
        "supreme",
        "head",
        "of",
        "state",
        # the other languages' articles and possessives before a title: "Sánchez y el presidente
        # argentino", "Macron et son homologue", "Meloni e il presidente"
        "el",
        "la",
        "le",
        "il",
        "lo",
        "o",
        "a",
        "der",
        "die",
        "den",
        "dem",
        "su",
        "son",
        "sa",
        "sein",
        "seinem",
        "seinen",
        "suo",
        "sua",
        "seu",
    ]
)


class _Homes:
    """Sitting people named in part of a sentence: the first of them with the countries of those
    named together with it, and all their countries."""

    __slots__ = ("countries", "first", "last_end", "together")

    def __init__(self) -> None:
        self.first: tuple[int, str] | None = None
        self.together: set[str] = set()  # the countries of the first and of those named with it
        self.last_end = -1  # where the last of the first group ends, while it may grow
        self.countries: set[str] = set()

    def add(self, start: int, end: int, country: str, joined: Callable[[int, int], bool]) -> None:
        if self.first is None:
            self.first = (start, country)
            self.together.add(country)
            self.last_end = end
        elif self.last_end >= 0:
            if joined(self.last_end, start):
                self.together.add(country)
                self.last_end = end
            else:
                self.last_end = -1
        self.countries.add(country)


class Occurrences:
    """The occurrences of parts in one article, shared by every rule evaluated on it."""

    def __init__(self, compiled: CompiledRules, doc: Document) -> None:
        self.compiled = compiled
        self.doc = doc
        self.literal, self._needles = compiled.scanner.scan(doc.text, doc)
        self.found = frozenset(self.literal)  # the literal terms found, to intersect with
        # whether each regex matches, found when a rule first asks (to trigger it, or for a part)
        self._regex_found: dict[int, bool] = {}
        self._maybe: frozenset[int] | None = None  # the regexes the prefilter lets through
        self._unscreened: set[int] | None = None  # those of the unscreened ones that match
        self._encoded: bytes | None = None
        self._regex_spans: dict[int, list[tuple[int, int]]] = {}
        self._office: dict[tuple[str, int], tuple[bool, str | None]] = {}
        self._mentions: dict[str, list[Mention]] = {}
        self._entity_base: dict[str, list[Hit]] = {}
        self._homes: dict[tuple[str, int], tuple[_Homes, dict[int, _Homes]]] = {}  # by sentence
        self._places: dict[tuple[str, int], set[str]] = {}  # by list and sentence
        self._parts: dict[int, tuple[list[Hit], list[int]]] = {}
        self._occurs: dict[int, bool] = {}  # occurs()
        self._whole: dict[tuple[int, int], list[Hit] | None] = {}  # inside() the whole article
        self._size = len(doc.text)
        self.vetoes: dict[int, list[Veto]] = {}  # filled by the guards filter
        # filled by the not_within filter: occurrences set aside, each with the match it lay inside
        self.set_aside: dict[int, list[tuple[Hit, Hit]]] = {}
        # filled by the guards filter: occurrences a guard would have vetoed but spares
        self.spared: dict[int, list[Veto]] = {}
        self._guard_zones: dict[int, dict[int, Hit]] = {}
        self._guard_verdicts: dict[tuple[int, int, int], Hit | None] = {}
        self._guard_reach: dict[tuple[int, int, int, int], Hit | None] = {}

    @staticmethod
    def key(part: CompiledPart) -> int:
        return part.shared_id if part.shared_id >= 0 else id(part)

    def of(self, part: CompiledPart) -> tuple[list[Hit], list[int]]:
        """The part's occurrences in text order, and their start offsets (to bisect)."""
        key = part.shared_id if part.shared_id >= 0 else id(part)  # self.key, on the hottest path
        cached = self._parts.get(key)
        if cached is not None:
            return cached
        hits = self._entity_hits(part) if part.entity_list is not None else self._term_hits(part)
        hits.sort()
        if hits and part.filters:
            hits = apply_filters(self, part, hits)
        result = (hits, [hit.start for hit in hits])
        self._parts[key] = result
        return result

    def may_occur(self, part: CompiledPart) -> bool:
        """Whether the part can have an occurrence at all: one of its terms was found, or the
        prefilter lets one of its regexes through. False for most guards in an article, and a
        look at two sets where their occurrences cost a pass over their terms and filters."""
        if not part.term_ids.isdisjoint(self.found):
            return True
        return bool(part.regex_ids) and not self.regexes_maybe().isdisjoint(part.regex_ids)

    def occurs(self, part: CompiledPart) -> bool:
        """Whether the part occurs in the article at all, after its filters. Asked of every guard
        of every guarded part: known once per article, where the look at its terms costs a set
        intersection each time."""
        key = part.shared_id if part.shared_id >= 0 else id(part)
        known = self._occurs.get(key)
        if known is None:
            known = self._occurs[key] = self.may_occur(part) and bool(self.of(part)[0])
        return known

    def inside(self, part: CompiledPart, start: int, end: int) -> list[Hit] | None:
        """The part's occurrences inside the window, if there are enough of them for it to hold.
        The callers only read the list: for the whole article it is kept, since every rule that
        uses the part starts there."""
        if start == 0 and end == self._size:
            # parts share occurrences when they differ only in name, but may ask for more of them
            key = (part.shared_id if part.shared_id >= 0 else id(part), part.required)
            whole = self._whole
            if key in whole:
                return whole[key]
            whole[key] = found = self._inside(part, start, end)
            return found
        return self._inside(part, start, end)

    def reaching(self, part: CompiledPart, start: int, end: int, reach: int) -> list[Hit] | None:
        """Like ``inside``, for a window of words: an occurrence that begins in it counts though it
        runs past its end, as far as ``reach`` (the enclosing window). A phrase is near a word when
        it starts near it: "talks between Russia and Ukraine" has the pair within 3 words of
        "talks", however many words the pair's name takes."""
        return self._inside(part, start, end, reach)

    def _inside(self, part: CompiledPart, start: int, end: int, reach: int | None = None) -> list[Hit] | None:
        hits, starts = self.of(part)
        first = bisect_left(starts, start)
        last = bisect_left(starts, end, first)
        if first == last:
            return None
        limit = end if reach is None else reach
        inside = [hit for hit in hits[first:last] if hit.end <= limit]
        if not inside:
            return None
        if part.required > 1 and len({hit.key for hit in inside}) < part.required:
            return None
        return inside

    def guard_veto(self, guard: CompiledGuard, hit: Hit) -> Hit | None:
        """The guard's occurrence that vetoes ``hit`` within the guard's scope, if any."""
        doc = self.doc
        if guard.scope == "article":
            # the kind of piece, told once for all of it: a "Today in history" column reports no
            # event of the day, whatever each of its items says
            return self._verdict(guard, 0, len(doc.text))
        if guard.forward:
            return self._veto_before(guard, hit)
        if guard.scope == "near":
            if guard.in_clause:
                # the clause lies in the hit's sentence, where most guards do not occur: a look-up
                # that spares the word window and the clause
                sentence_low, sentence_high = doc.sentence_span(hit.start)
                starts = self.of(guard.part)[1]
                first = bisect_left(starts, sentence_low)
                if first == len(starts) or starts[first] >= sentence_high:
                    return None
            low, high = doc.words_around(hit.start, hit.end, guard.words)
            if not guard.in_clause:
                return self._reaching(guard, low, high, low)
            # the clause only narrows the word window, and splitting a sentence into clauses
            # costs more than a look-up: only where the guard occurs near the hit
            if self._reaching(guard, low, high, sentence_low) is None:
                return None
            clause_low, clause_high = doc.clause_span(hit.start)
            return self._reaching(guard, max(low, clause_low), min(high, clause_high), clause_low)
        if guard.part.required > 1:
            low, high = (doc.clause_span if guard.scope == "clause" else doc.sentence_span)(hit.start)
            return self._verdict(guard, low, high)
        # a guard holds in a sentence iff one of its occurrences lies inside it: mark those
        # sentences once, then each guarded occurrence costs one look-up; a clause is part of a
        # sentence, so it is split only where the guard occurs in the sentence
        key = self.key(guard.part)
        zones = self._guard_zones.get(key)
        if zones is None:
            zones = {}
            for found in self.of(guard.part)[0]:
                low, high = doc.sentence_span(found.start)
                if found.end <= high:
                    zones.setdefault(low, found)
            self._guard_zones[key] = zones
        in_sentence = zones.get(doc.sentence_span(hit.start)[0])
        if in_sentence is None or guard.scope != "clause":
            return in_sentence
        low, high = doc.clause_span(hit.start)
        return self._verdict(guard, low, high)

    def _veto_before(self, guard: CompiledGuard, hit: Hit) -> Hit | None:
        """A forward guard's occurrence that starts before ``hit`` within its scope: "concerns July
        2018, when Trump and Putin held their first summit ..., an encounter remembered" places
        every word after the date in that year, and none before it ("met on Wednesday, their first
        talks since 2022, when ...")."""
        doc = self.doc
        if guard.scope != "near":
            low = (doc.clause_span if guard.scope == "clause" else doc.sentence_span)(hit.start)[0]
            return self._reaching(guard, low, hit.start, low)
        low = doc.words_around(hit.start, hit.end, guard.words)[0]
        if not guard.in_clause:
            return self._reaching(guard, low, hit.start, low)
        clause_low = doc.clause_span(hit.start)[0]
        return self._reaching(guard, max(low, clause_low), hit.start, clause_low)

    def _reaching(self, guard: CompiledGuard, low: int, high: int, floor: int) -> Hit | None:
        """The first occurrence of the guard that reaches into the window and starts at or after
        ``floor``: a phrase that runs past the window's edge still stands next to the word it
        hedges ("halten einen Teststart in den kommenden Monaten für möglich", "bought under an
        agreement signed with France in 2016")."""
        window = (~self.key(guard.part), low, high, floor)
        if window in self._guard_reach:
            return self._guard_reach[window]
        hits, starts = self.of(guard.part)
        first = bisect_left(starts, floor)
        last = bisect_left(starts, high, first)
        reaching = [found for found in hits[first:last] if found.end > low]
        if guard.part.required > 1 and len({found.key for found in reaching}) < guard.part.required:
            reaching = []
        verdict = reaching[0] if reaching else None
        self._guard_reach[window] = verdict
        return verdict

    def _verdict(self, guard: CompiledGuard, low: int, high: int) -> Hit | None:
        """The first occurrence of the guard inside the window, if it holds there; guarded parts
        share guards and windows, so each guard is judged once per window."""
        window = (self.key(guard.part), low, high)
        if window not in self._guard_verdicts:
            inside = self.inside(guard.part, low, high)
            self._guard_verdicts[window] = inside[0] if inside is not None else None
        return self._guard_verdicts[window]

    # -- terms -----------------------------------------------------------------

    def _term_hits(self, part: CompiledPart) -> list[Hit]:
        """The part's literal occurrences, from the terms the article and the part have in common
        (a set intersection over the smaller of the two), then its regular expressions'."""
        displays = self.compiled.literal_displays
        literal = self.literal
        index = part.literal_index
        hits = [
            new_hit((start, end, displays[term_id], None, group, -1))
            for term_id in literal.keys() & index.keys()
            for start, end in literal[term_id]
            for group in index[term_id]
        ]
        if part.regex_ids:
            # most of a part's regexes are ruled out together by the prefilter, without a look at each
            maybe = self.regexes_maybe()
            if not maybe.isdisjoint(part.regex_ids):
                regex_displays = self.compiled.regex_displays
                for regex_id, group in zip(part.regex_ids, part.regex_groups, strict=True):
                    if regex_id in maybe:
                        display = regex_displays[regex_id]
                        for start, end in self._spans_of_regex(regex_id):
                            hits.append(new_hit((start, end, display, None, group, -1)))
        return hits

    def regex_found(self, regex_id: int) -> bool:
        """Whether the regex matches somewhere in the article. Most regexes are never asked about
        in an article (no rule they could trigger or serve is a candidate), and most of the rest
        are passed over by the screen of the strings they require without being run."""
        found = self._regex_found.get(regex_id)
        if found is None:
            scanner = self.compiled.scanner
            found = regex_id in self.regexes_maybe()
            if found:
                if self._encoded is None:
                    self._encoded = self.doc.text.encode()
                if regex_id in scanner.together:  # all of them in one pass, the first time
                    if self._unscreened is None:
                        self._unscreened = scanner.unscreened_found(self._encoded)
                    found = regex_id in self._unscreened
                else:
                    found = scanner.regex_matches(regex_id, self._encoded)
            self._regex_found[regex_id] = found
        return found

    def any_regex_found(self, regex_ids: tuple[int, ...]) -> bool:
        """Whether one of the regexes matches somewhere in the article; most of a part's regexes
        are ruled out together by the prefilter, without a look at each."""
        maybe = self.regexes_maybe()
        if maybe.isdisjoint(regex_ids):
            return False
        return any(self.regex_found(regex_id) for regex_id in maybe.intersection(regex_ids))

    def regexes_maybe(self) -> frozenset[int]:
        """The regexes that may match the article: those the prefilter lets through, and those
        it cannot screen; no other can."""
        if self._maybe is None:
            scanner = self.compiled.scanner
            self._maybe = scanner.unscreened.union(scanner.screened(self._needles))
        return self._maybe

    def _spans_of_regex(self, regex_id: int) -> list[tuple[int, int]]:
        if not self.regex_found(regex_id):
            return []
        spans = self._regex_spans.get(regex_id)
        if spans is None:
            text = self.doc.text
            if self._encoded is None:
                self._encoded = text.encode()
            spans = self.compiled.scanner.regex_spans(regex_id, text, self._encoded)
            self._regex_spans[regex_id] = spans
        return spans

    # -- entities --------------------------------------------------------------

    def _entity_hits(self, part: CompiledPart) -> list[Hit]:
        """Every mention of the part's list, keyed by entity id; filters narrow and re-key them.
        Built once per list: the parts of one list (with their different filters) copy it."""
        name = part.entity_list
        assert name is not None
        hits = self._entity_base.get(name)
        if hits is None:
            entities = self.compiled.lists[name].compiled.entities
            hits = [
                new_hit((found.start, found.end, found.term, entity.id, entity.id, found.entity))
                for found in self.mentions(name)
                for entity in (entities[found.entity],)
            ]
            self._entity_base[name] = hits
        return list(hits)

    def places_in_sentence(self, list_name: str, offset: int) -> set[str]:
        """The ids of the list's entities named in the sentence at ``offset``: gathered once per
        sentence, so a sentence naming thousands of products costs one pass over its places."""
        low, high = self.doc.sentence_span(offset)
        known = self._places.get((list_name, low))
        if known is None:
            known = self._places[(list_name, low)] = self._named_between(list_name, low, high)
        return known

    def places_in_article(self, list_name: str) -> set[str]:
        """The ids of the list's entities named anywhere in the article, gathered once."""
        known = self._places.get((list_name, -1))
        if known is None:
            known = self._places[(list_name, -1)] = self._named_between(list_name, 0, len(self.doc.text))
        return known

    def _named_between(self, list_name: str, low: int, high: int) -> set[str]:
        found = self.mentions(list_name)
        entities = self.compiled.lists[list_name].compiled.entities
        named: set[str] = set()
        for mention in found[bisect_left(found, low, key=lambda mention: mention.start) :]:
            if mention.start >= high:
                break
            named.add(entities[mention.entity].id)
        return named

    def entity(self, list_name: str, index: int) -> CompiledEntity:
        return self.compiled.lists[list_name].compiled.entities[index]

    def office_of(self, list_name: str, index: int) -> tuple[bool, str | None]:
        """Whether the entity is in office on the article's day, and for which country."""
        key = (list_name, index)
        cached = self._office.get(key)
        if cached is None:
            day = self.doc.day
            entity = self.entity(list_name, index)
            cached = (entity.in_office(day), entity.country_on(day))
            self._office[key] = cached
        return cached

    def home_countries(self, list_name: str, offset: int) -> set[str]:
        """Countries of the people of a list who are in office and named in the sentence at
        ``offset``, where the place is their home rather than a trip abroad.

        Who travels is named first, before the place ("Prabowo travelled to Beijing for talks
        with Xi", "Merz told Zelensky in Kyiv": abroad), so when someone is named before it,
        only the first of them counts; when no one is ("Arriving in Jakarta, Prabowo said"),
        everyone named does. Someone named only in a clause that turns to another event counts
        for neither ("Xi arrived in Moscow, a week after Putin called for closer ties"), except
        in that clause, whose own first named travels there."""
        clause = self.doc.clause_span(offset)[0]
        main, turns = self._homes_of_sentence(list_name, offset)
        own = turns.get(clause)
        named = [found for found in (main.first, own.first if own else None) if found is not None]
        if not named:
            return set()
        if own is not None and own.first is not None and own.first[0] < offset:
            # a clause that turns to another event names its own traveller: "Latvia's prime minister
            # said in Riga last week ..., while Lithuania's prime minister told the Seimas in Vilnius"
            return own.together if len(own.together) == 1 else set()
        first_start, _ = min(named)
        if first_start < offset:
            # who travels: the first named, with anyone named together with them ("Putin and Kim
            # arrived in Moscow"); the place is home only if it is home to all of them
            group = main if main.first is not None and main.first[0] == first_start else own
            assert group is not None
            return group.together if len(group.together) == 1 else set()
        return main.countries | own.countries if own else main.countries

    def _homes_of_sentence(self, list_name: str, offset: int) -> tuple[_Homes, dict[int, _Homes]]:
        """The sitting people of a list named in the sentence at ``offset``, with their countries:
        those in its clauses that are not turns, and those in each turn. Gathered once per
        sentence, so a place costs a look-up however many people and places the sentence names."""
        doc = self.doc
        low, high = doc.sentence_span(offset)
        cached = self._homes.get((list_name, low))
        if cached is not None:
            return cached
        main = _Homes()
        turns: dict[int, _Homes] = {}
        found = self.mentions(list_name)
        for hit in found[bisect_left(found, low, key=lambda hit: hit.start) :]:
            if hit.start >= high:
                break
            in_office, country = self.office_of(list_name, hit.entity)
            if not in_office or country is None:
                continue
            clause = doc.clause_span(hit.start)[0]
            homes = turns.setdefault(clause, _Homes()) if doc.is_turn(hit.start) else main
            homes.add(hit.start, hit.end, country, self._named_together)
        self._homes[(list_name, low)] = (main, turns)
        return main, turns

    def _named_together(self, end: int, start: int) -> bool:
        """Whether the text between two people's names joins them (``_JOINED``)."""
        if start - end > 80:
            return False
        joined = _JOINED.fullmatch(self.doc.text, end, start)
        if joined is None:
            return False
        words = self.doc.original_text(joined.start(2), joined.end(2)).split()
        return all(word[0].isupper() or word.lower() in _TITLE_WORDS for word in words)

    def mentions(self, name: str) -> list[Mention]:
        """Every mention of the list's entities, titles resolved by date and weak aliases checked."""
        cached = self._mentions.get(name)
        if cached is not None:
            return cached
        use = self.compiled.lists[name]
        offices = use.compiled.offices
        displays = self.compiled.literal_displays
        day = self.doc.day
        text = self.doc.text
        named: set[int] = set()
        found: list[tuple[int, int, str, int, bool]] = []
        literal = self.literal
        backs: list[BareTitle] = []
        beside: list[BareTitle] = []
        joined: list[BareTitle] = []
        for term_id in literal.keys() & use.meanings.keys():
            spans = literal[term_id]
            for meaning in use.meanings[term_id]:
                for start, end in spans:
                    entity = meaning.entity
                    if meaning.beside_place is not None:
                        beside.append(BareTitle(start, end, displays[term_id], meaning.beside_place))
                        continue
                    if meaning.joined_places is not None:
                        joined.append(
                            BareTitle(
                                start, end, displays[term_id], meaning.joined_places, meaning.after_holder
                            )
                        )
                        continue
                    if meaning.back_to_role is not None:
                        if not title_skipped(
                            text, start, end, use.compiled.skip_after, use.compiled.skip_before
                        ):
                            backs.append(BareTitle(start, end, displays[term_id], meaning.back_to_role))
                        continue
                    if meaning.office is not None:
                        if title_skipped(text, start, end, use.compiled.skip_after, use.compiled.skip_before):
                            continue
                        entity = offices.holder(meaning.office, day)
                        if entity is None:
                            continue
                    assert entity is not None
                    if not meaning.weak:
                        named.add(entity)
                    found.append((start, end, displays[term_id], entity, meaning.weak))
        paired, each = self._titled_by_places(name, use.compiled, beside, joined, found)
        # a pair the templates already name ("Russian President") is one mention, not two
        templated = {(start, end) for start, end, *_ in found} if paired else set()
        for start, end, term, entity in [*(p for p in paired if (p[0], p[1]) not in templated), *each]:
            named.add(entity)
            found.append((start, end, term, entity, False))
        found.sort(key=lambda item: (item[0], -item[1]))
        introducers = use.compiled.introducers
        sure = [
            not weak
            or entity in named
            or _after_title(text, start, introducers.get(entity))
            or _after_count(text, start, end)
            for start, end, _, entity, weak in found
        ]
        result: list[Mention] = []
        cover_start, cover_end = -1, -1
        for index, (start, end, term, entity, _) in enumerate(found):
            if not sure[index] and not self._paired(found, sure, index):
                continue
            if end <= cover_end and (start, end) != (cover_start, cover_end):
                continue  # inside a longer mention: "Castro" within "Raúl Castro"
            if end > cover_end:
                cover_start, cover_end = start, end
            result.append(Mention(start, end, term, entity))
        if backs:
            entities = use.compiled.entities
            result = refer_back(result, backs, text, lambda index: entities[index].roles_on(day))
        self._mentions[name] = result
        return result

    def _titled_by_places(
        self,
        name: str,
        people: CompiledEntityList,
        beside: list[BareTitle],
        joined: list[BareTitle],
        named: list[tuple[int, int, str, int, bool]],
    ) -> tuple[list[tuple[int, int, str, int]], list[tuple[int, int, str, int]]]:
        """The office holders named by titles with their places, on the article's day, skipped as
        the templates' titles are ("l'ancien président indonésien", "the former Uzbek and Kyrgyz
        presidents"): a title and the place beside it ("le président indonésien", "der polnische
        Staatschef") are one mention; a plural title after joined places ("the Uzbek and Kyrgyz
        presidents") is one mention at each place, and counterparts count only after a sitting
        leader ``named`` (not by a weak alias) before them in the sentence."""
        if not (beside or joined) or people.places is None or people.places not in self.compiled.lists:
            return [], []
        places = self.compiled.lists[people.places].compiled.entities
        mentions = self.mentions(people.places)
        text, day = self.doc.text, self.doc.day
        paired: list[tuple[int, int, str, int]] = []
        for title, place in titles_beside_places(beside, mentions, text):
            start, end = min(title.start, place.start), max(title.end, place.end)
            if title_skipped(text, start, end, people.skip_after, people.skip_before):
                continue
            if text[start - 1 : start] in _FORMER_JOINED:
                continue  # Chinese and Japanese write "former" joined to the title: "前美国总统"
            holder = people.offices.holder((places[place.entity].id, title.role), day)
            if holder is not None:
                paired.append((start, end, self.doc.original_text(start, end), holder))
        each: list[tuple[int, int, str, int]] = []
        named = [*named, *((start, end, term, holder, False) for start, end, term, holder in paired)]
        for title, places_joined in titles_of_joined_places(joined, mentions, text):
            start = places_joined[0].start
            if title_skipped(text, start, title.end, people.skip_after, people.skip_before):
                continue
            if title.after_holder and not self._leader_before(name, named, start):
                continue
            for place in places_joined:
                holder = people.offices.holder((places[place.entity].id, title.role), day)
                if holder is not None:
                    each.append(
                        (place.start, place.end, self.doc.original_text(place.start, place.end), holder)
                    )
        return paired, each

    def _leader_before(self, name: str, named: list[tuple[int, int, str, int, bool]], offset: int) -> bool:
        """Whether a sitting leader is named, not by a weak alias, in the sentence before ``offset``."""
        low, _ = self.doc.sentence_span(offset)
        return any(
            low <= start < offset and not weak and self.office_of(name, entity)[0]
            for start, _, _, entity, weak in named
        )

    def _paired(self, found: list[tuple[int, int, str, int, bool]], sure: list[bool], index: int) -> bool:
        """Whether a weak alias is named together with another person of its list ("Modi and
        Albanese", "Sánchez y Sheinbaum"), which rules out a namesake, unless a capitalised word
        follows it as part of a longer name ("Kim Kardashian") or a number does."""
        start, end, _, entity, _ = found[index]
        after = self.doc.original_text(end, min(end + 40, self._size))
        following = after.lstrip()
        if following[:1].isdigit() or (following[:1].isupper() and len(following) < len(after)):
            return False  # "Kim Kardashian", or a date: "Putin, May 12"
        for other in range(index - 1, -1, -1):
            if found[other][1] <= start:
                if sure[other] and found[other][3] != entity and self._named_together(found[other][1], start):
                    return True
                break
        for other in range(index + 1, len(found)):
            if found[other][0] >= end:
                if sure[other] and found[other][3] != entity and self._named_together(end, found[other][0]):
                    return True
                break
        return False


# "former", joined to the title it qualifies in Chinese and Japanese ("前美国总统", "元日本首相"),
# where no space makes it a word of its own for the skip words
_FORMER_JOINED = frozenset("前原元")


# A weak alias that is also a month's name is a date after a number ("PARIS, 23 May - ..."), not the
# person ("Theresa May") nor a thing counted
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


def _after_count(text: str, start: int, end: int) -> bool:
    """Whether a number counts what the weak alias names ("buy 20 new Typhoons", "a dozen
    Apaches"): a product is counted, a namesake or a storm is not, and a day is no count of a month."""
    if text[start:end].lower() in _MONTHS:
        return False
    return _COUNTED.search(text, max(0, start - 40), start) is not None


def _after_title(text: str, start: int, titles: tuple[str, ...] | None) -> bool:
    """Whether one of the entity's office titles or its country stands right before ``start``: a
    weak surname so introduced ("Prime Minister Albanese", "South Korea's Lee") names the person,
    not a namesake."""
    if not titles:
        return False
    before = text[max(0, start - 40) : start].rstrip()
    return any(
        before.endswith(title) and (len(before) == len(title) or not before[-len(title) - 1].isalnum())
        for title in titles
    )
