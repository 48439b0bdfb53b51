"""Validated rule and list files -> the compiled form the matcher runs.

Everything that can be wrong in a rules directory beyond its schema is found
here, each error located in its file: unknown list or part names, bad term
syntax, conditions that do not parse, lists that include themselves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from service.errors import FileProblem
from service.matching.anchors import candidate_index, route_needs
from service.matching.compiled import (
    CompiledGuard,
    CompiledPart,
    CompiledRule,
    CompiledRules,
    EntityListUse,
    RuleExample,
)
from service.matching.condition import (
    MAX_DEPTH,
    ConditionError,
    Node,
    Or,
    depth,
    parse_condition,
    references,
    substitute,
)
from service.matching.entities import (
    AliasMeaning,
    CompiledEntityList,
    add_place_words,
    compile_entities,
    title_aliases,
)
from service.matching.filters import filters_of
from service.matching.fragments import FRAGMENT, FragmentError, expand, is_regex
from service.matching.freshness import ListFacts, list_facts
from service.matching.info import RuleInfo
from service.matching.re2lint import non_ascii_beside_boundary
from service.matching.scanner import Scanner
from service.matching.schema import (
    ALL_FIELDS,
    EntityListFile,
    ExampleArticle,
    GuardFile,
    Part,
    Route,
    RuleFile,
    Selection,
    Term,
    TermListFile,
    TermObject,
)
from service.matching.terms import ListRef, LiteralTerm, ParsedTerm, RegexTerm, TermSyntaxError, parse_term
from service.models import Article, ArticleField
from service.yamlfile import Location, MarkedDocument

Located = tuple[MarkedDocument, Location]


@dataclass
class Compiler:
    errors: list[FileProblem] = field(default_factory=list)
    # what loads but cannot work as written (a regex whose \b stands beside a letter outside ASCII)
    warnings: list[FileProblem] = field(default_factory=list)
    literals: list[LiteralTerm] = field(default_factory=list)
    regexes: list[RegexTerm] = field(default_factory=list)
    _literal_ids: dict[LiteralTerm, int] = field(default_factory=dict)
    _regex_ids: dict[RegexTerm, int] = field(default_factory=dict)
    _term_lists: dict[str, tuple[TermListFile, MarkedDocument]] = field(default_factory=dict)
    _entity_lists: dict[str, EntityListUse] = field(default_factory=dict)
    _expanded: dict[str, list[LiteralTerm | RegexTerm]] = field(default_factory=dict)
    _entity_names: set[str] = field(default_factory=set)
    _shared_parts: dict[tuple[object, ...], int] = field(default_factory=dict)
    _guards: dict[str, CompiledGuard] = field(default_factory=dict)
    _list_facts: list[ListFacts] = field(default_factory=list)
    _list_term_ids: dict[str, frozenset[int]] = field(default_factory=dict)
    # regexes a part looks for in every candidate article, as against those only read around an
    # occurrence already found (not_within, spares): see Scanner's ``asked_alone``
    _searched_regexes: set[int] = field(default_factory=set)

    def fail(self, at: Located, message: str, *, at_key: bool = False, offset: int = 0) -> None:
        doc, loc = at
        self.errors.append(doc.problem(loc, message, at_key=at_key, offset=offset))

    def compile(
        self,
        term_lists: list[tuple[TermListFile, MarkedDocument]],
        entity_lists: list[tuple[EntityListFile, MarkedDocument]],
        rules: list[tuple[RuleFile, MarkedDocument]],
        guard_files: list[tuple[GuardFile, MarkedDocument]] | None = None,
    ) -> CompiledRules:
        known: dict[str, str] = {}
        self._entity_names = {model.name for model, _ in entity_lists}
        all_lists: list[tuple[TermListFile | EntityListFile, MarkedDocument]] = [*term_lists, *entity_lists]
        for source, doc in all_lists:
            if source.name in known:
                self.fail(
                    (doc, ("list",)), f"list '{source.name}' is already defined in {known[source.name]}"
                )
                continue
            known[source.name] = doc.path
            self._list_facts.append(list_facts(source, doc))
            if isinstance(source, TermListFile):
                self._term_lists[source.name] = (source, doc)
        for name in self._term_lists:
            self._expand(name, ())
        entity_models = [(m, d) for m, d in entity_lists if known.get(m.name) == d.path]
        for entity_list, doc in entity_models:
            self._compile_entity_list(entity_list, doc, {m.name: m for m, _ in entity_models})
        self._compile_guards(guard_files or [])
        compiled_rules: list[CompiledRule] = []
        seen_ids: dict[str, str] = {}
        for model, doc in rules:
            if model.id in seen_ids:
                self.fail((doc, ("id",)), f"rule id '{model.id}' is already used in {seen_ids[model.id]}")
                continue
            seen_ids[model.id] = doc.path
            rule = self._compile_rule(model, doc)
            if rule is not None:
                compiled_rules.append(rule)
        anchors, regex_anchors, always = candidate_index(compiled_rules, self._entity_lists, self.literals)
        return CompiledRules(
            rules=tuple(compiled_rules),
            lists=dict(self._entity_lists),
            scanner=Scanner(
                self.literals,
                self.regexes,
                asked_alone=frozenset(range(len(self.regexes))) - self._searched_regexes,
            ),
            literals=tuple(self.literals),
            literal_displays=tuple(term.display for term in self.literals),
            regex_displays=tuple(term.display for term in self.regexes),
            anchors=anchors,
            regex_anchors=regex_anchors,
            regex_anchor_ids=frozenset(regex_anchors),
            always=always,
            guards=dict(self._guards),
            list_facts=tuple(self._list_facts),
            warnings=tuple(str(warning) for warning in dict.fromkeys(self.warnings)),
            anchor_scanner=(
                Scanner([self.literals[i] for i in sorted(anchors)], [])
                if anchors and not always and not regex_anchors
                else None
            ),
        )

    # -- terms -----------------------------------------------------------

    def _parse(self, term: Term, at: Located, chain: tuple[str, ...] = ()) -> ParsedTerm | None:
        text, case = (term, False) if isinstance(term, str) else (term.text, term.case_sensitive)
        if isinstance(term, TermObject) and term.weak:
            self.fail(at, "'weak' applies only to entity aliases")
        written = text
        if is_regex(text) and FRAGMENT.search(text):
            expanded = self._with_fragments(text, at, chain)
            if expanded is None:
                return None
            text = expanded
        try:
            parsed = parse_term(text, case_sensitive=case)
        except TermSyntaxError as exc:
            self.fail(at, str(exc))
            return None
        if isinstance(parsed, RegexTerm) and text != written:
            parsed = dataclasses.replace(parsed, display=written)  # shown as written, with its {@list}
        if isinstance(parsed, RegexTerm):
            letters = non_ascii_beside_boundary(parsed.pattern)
            if letters:
                doc, loc = at
                self.warnings.append(
                    doc.problem(
                        loc,
                        f"{text}: \\b beside {', '.join(repr(letter) for letter in letters)}, a letter outside "
                        "ASCII, never matches (RE2 reads \\b and \\w as ASCII only); use a space or a class "
                        "such as [а-яё]",
                    )
                )
        return parsed

    def _with_fragments(self, text: str, at: Located, chain: tuple[str, ...]) -> str | None:
        """A regex's text with each ``{@list}`` written out (fragments.py); None, with the error
        at the term, where a list is unknown or cannot stand in a regex."""
        reported = len(self.errors)

        def resolve(name: str) -> list[LiteralTerm | RegexTerm] | None:
            terms = self._resolve_ref(ListRef(name), at, chain)
            return None if len(self.errors) > reported else terms  # unknown, or includes itself

        try:
            return expand(text, resolve)
        except FragmentError as exc:
            self.fail(at, str(exc))
            return None

    def _expand(self, name: str, chain: tuple[str, ...]) -> list[LiteralTerm | RegexTerm]:
        if name in self._expanded:
            return self._expanded[name]
        model, doc = self._term_lists[name]
        terms: list[LiteralTerm | RegexTerm] = []
        for index, term in enumerate(model.terms):
            at = (doc, ("terms", index))
            parsed = self._parse(term, at, (*chain, name))
            if isinstance(parsed, ListRef):
                terms.extend(self._resolve_ref(parsed, at, (*chain, name)))
            elif parsed is not None:
                terms.append(parsed)
        self._expanded[name] = terms
        return terms

    def _resolve_ref(
        self, ref: ListRef, at: Located, chain: tuple[str, ...]
    ) -> list[LiteralTerm | RegexTerm]:
        if ref.name in chain:
            self.fail(at, f"list '{ref.name}' includes itself: {' -> '.join((*chain, ref.name))}")
            return []
        if ref.name in self._entity_names or ref.name not in self._term_lists:
            if ref.name in self._entity_names:
                self.fail(at, f"'@{ref.name}' is an entity list; use a part with 'entity: {ref.name}'")
            else:
                self.fail(at, f"unknown list '@{ref.name}'{_suggest(ref.name, self._term_lists)}")
            return []
        return self._expand(ref.name, chain)

    def _literal_id(self, term: LiteralTerm) -> int:
        if term not in self._literal_ids:
            self._literal_ids[term] = len(self.literals)
            self.literals.append(term)
        return self._literal_ids[term]

    def _regex_id(self, term: RegexTerm) -> int:
        if term not in self._regex_ids:
            self._regex_ids[term] = len(self.regexes)
            self.regexes.append(term)
        return self._regex_ids[term]

    # -- entity lists ------------------------------------------------------

    def _compile_entity_list(
        self, model: EntityListFile, doc: MarkedDocument, entity_models: Mapping[str, EntityListFile]
    ) -> None:
        compiled = compile_entities(model)
        meanings: dict[int, list[AliasMeaning]] = {}
        seen: set[str] = set()
        for index, entity in enumerate(model.entities):
            if entity.id in seen:
                self.fail((doc, ("entities", index, "id")), f"duplicate entity id '{entity.id}'")
            seen.add(entity.id)
        for text, case, meaning, where in compiled.aliases:
            self._add_alias(text, case, meaning, (doc, where), meanings)
        if model.titles is not None:
            places = self._places(model, doc, entity_models)
            for index, entity in enumerate(model.entities):
                for number, office in enumerate(entity.offices):
                    at = (doc, ("entities", index, "offices", number))
                    if office.role not in model.titles.roles:
                        self.fail(
                            (doc, (*at[1], "role")),
                            f"unknown role '{office.role}'{_suggest(office.role, model.titles.roles)}",
                        )
                    country = office.country or entity.attributes.get("country")
                    if not isinstance(country, str):
                        self.fail(at, "an office needs a 'country', or the entity a 'country' attribute")
                    elif places is not None and country not in places.ids:
                        self.fail(at, f"unknown country '{country}' (not in list '{places.name}')")
            for key, by_role in (
                ("beside_places", model.titles.beside_places),
                ("joined_places", model.titles.joined_places),
            ):
                for role in by_role:
                    if role not in model.titles.roles:
                        self.fail(
                            (doc, ("titles", key, role)),
                            f"unknown role '{role}'{_suggest(role, model.titles.roles)}",
                        )
            if places is not None:
                compiled.places = places.name
                add_place_words(compiled, places)
                for text, meaning in title_aliases(model.titles, places, compiled.offices):
                    self._add_alias(text, False, meaning, (doc, ("titles", "templates")), meanings)
        self._entity_lists[model.name] = EntityListUse(compiled, {k: tuple(v) for k, v in meanings.items()})

    def _places(
        self, model: EntityListFile, doc: MarkedDocument, entity_models: Mapping[str, EntityListFile]
    ) -> CompiledEntityList | None:
        assert model.titles is not None
        name = model.titles.places
        if name == model.name:
            return compile_entities(model)
        if name in self._entity_lists:
            return self._entity_lists[name].compiled
        if name in entity_models:
            return compile_entities(entity_models[name])
        self.fail((doc, ("titles", "places")), f"unknown entity list '{name}'{_suggest(name, entity_models)}")
        return None

    def _add_alias(
        self,
        text: str,
        case: bool,
        meaning: AliasMeaning,
        at: Located,
        meanings: dict[int, list[AliasMeaning]],
    ) -> None:
        try:
            parsed = parse_term(text, case_sensitive=case)
        except TermSyntaxError as exc:
            self.fail(at, str(exc))
            return
        if not isinstance(parsed, LiteralTerm):
            self.fail(at, f"alias '{text}' must be a phrase, not a regex or list reference")
            return
        known = meanings.setdefault(self._literal_id(parsed), [])
        if meaning not in known:
            known.append(meaning)

    # -- guards ------------------------------------------------------------

    def _compile_guards(self, files: list[tuple[GuardFile, MarkedDocument]]) -> None:
        defined: dict[str, str] = {}
        for model, doc in files:
            for name, guard in model.guards.items():
                at: Location = ("guards", name)
                if name in defined:
                    self.fail((doc, at), f"guard '{name}' is already defined in {defined[name]}", at_key=True)
                    continue
                defined[name] = doc.path
                part = self._compile_selection(name, guard, (doc, at), frozenset(ALL_FIELDS))
                scope = "near" if guard.near is not None else guard.scope or "sentence"
                spares = None
                if guard.spares is not None:
                    spares = self._terms_part(
                        f"{name} (spares)",
                        guard.spares,
                        (doc, (*at, "spares")),
                        frozenset(ALL_FIELDS),
                        context=True,
                    )
                self._guards[name] = CompiledGuard(
                    name,
                    self._share(part),
                    scope,
                    guard.near or 0,
                    in_clause=guard.near is not None and guard.scope == "clause",
                    spares=self._share(spares) if spares is not None else None,
                    forward=guard.forward,
                )

    # -- rules -------------------------------------------------------------

    def _compile_rule(self, model: RuleFile, doc: MarkedDocument) -> CompiledRule | None:
        errors_before = len(self.errors)
        parts = tuple(self._compile_part(name, part, model, doc) for name, part in model.parts.items())
        part_index = {part.name: index for index, part in enumerate(parts)}
        compiled = self._compile_routes(model, doc, part_index)
        if compiled is None or len(self.errors) > errors_before:
            return None
        routes, named = compiled
        condition = routes[0][1] if len(routes) == 1 else Or(tuple(node for _, node in routes))
        info = RuleInfo(
            id=model.id,
            title=model.title,
            severity=model.severity,
            tags=list(model.tags),
            description=model.description.strip(),
            path=doc.path,
        )
        parts = tuple(self._share(part) for part in parts)
        needs = tuple(route_needs(node, part_index) for _, node in routes)
        return CompiledRule(
            info,
            parts,
            part_index,
            condition,
            _examples(model, doc),
            routes,
            needs,
            condition_names={id(node): name for name, node in named.items()},
        )

    def _share(self, part: CompiledPart) -> CompiledPart:
        signature = (
            part.literal_ids,
            part.literal_groups,
            part.regex_ids,
            part.regex_groups,
            part.entity_list,
            part.where,
            part.in_office,
            part.distinct,
            part.abroad_from,
            part.made_abroad,
            part.made_at_home,
            part.origin_elsewhere,
            part.fields,
            part.year_before_published,
            part.month_before_published,
            part.month_after_published,
            part.opens_clause,
            part.not_within.shared_id if part.not_within is not None else -1,
            tuple(guard.name for guard in part.guards),
        )
        shared_id = self._shared_parts.setdefault(signature, len(self._shared_parts))
        if part.entity_list is None:
            term_ids = frozenset(part.literal_ids)
        else:
            term_ids = self._list_term_ids.get(part.entity_list, frozenset())
            if not term_ids and part.entity_list in self._entity_lists:
                term_ids = frozenset(self._entity_lists[part.entity_list].meanings)
                self._list_term_ids[part.entity_list] = term_ids
        return dataclasses.replace(part, shared_id=shared_id, filters=filters_of(part), term_ids=term_ids)

    def _compile_part(self, name: str, part: Part, rule: RuleFile, doc: MarkedDocument) -> CompiledPart:
        base: Location = ("parts", name)
        compiled = self._compile_selection(name, part, (doc, base), frozenset(rule.fields))
        guards: list[CompiledGuard] = []
        for index, guard_name in enumerate(part.guards or []):
            guard = self._guards.get(guard_name)
            if guard is None:
                self.fail(
                    (doc, (*base, "guards", index)),
                    f"unknown guard '{guard_name}'{_suggest(guard_name, self._guards)}",
                )
            elif guard not in guards:
                guards.append(guard)
        return dataclasses.replace(compiled, guards=tuple(guards)) if guards else compiled

    def _compile_selection(
        self, name: str, part: Selection, at: Located, default_fields: frozenset[ArticleField]
    ) -> CompiledPart:
        doc, base = at
        fields = frozenset(part.fields) if part.fields else default_fields
        year = part.year == "before_published"
        month = part.month == "before_published"
        month_after = part.month == "after_published"
        not_within = None
        if part.not_within is not None:
            at_option = (doc, (*base, "not_within"))
            not_within = self._share(
                self._terms_part(f"{name} (not_within)", part.not_within, at_option, fields, context=True)
            )
        if part.entity is not None:
            compiled = self._entity_part(name, part, (doc, base), fields, year, month)
            return dataclasses.replace(compiled, not_within=not_within, opens_clause=part.opens_clause)
        terms = part.any if part.any is not None else part.all or []
        key = "any" if part.any is not None else "all"
        compiled = self._terms_part(name, terms, (doc, (*base, key)), fields)
        required = len(terms) if part.all is not None else part.min
        if required > len(terms):
            self.fail((doc, (*base, "min")), f"min is {required} but the part has only {len(terms)} terms")
        return dataclasses.replace(
            compiled,
            required=required,
            year_before_published=year,
            month_before_published=month,
            month_after_published=month_after,
            opens_clause=part.opens_clause,
            not_within=not_within,
        )

    def _terms_part(
        self,
        name: str,
        terms: Sequence[Term],
        at: Located,
        fields: frozenset[ArticleField],
        *,
        context: bool = False,
    ) -> CompiledPart:
        """A part of literal terms and regexes, one group per term written (a list's terms share
        the group of the '@name' that brought them); ``context``: a part read only around an
        occurrence of another (not_within, spares), never looked for on its own."""
        doc, base = at
        literal_ids: list[int] = []
        literal_groups: list[int] = []
        regex_ids: list[int] = []
        regex_groups: list[int] = []
        for group, term in enumerate(terms):
            located = (doc, (*base, group))
            parsed = self._parse(term, located)
            expanded = self._resolve_ref(parsed, located, ()) if isinstance(parsed, ListRef) else [parsed]
            for item in expanded:
                if isinstance(item, LiteralTerm):
                    literal_ids.append(self._literal_id(item))
                    literal_groups.append(group)
                elif isinstance(item, RegexTerm):
                    regex_ids.append(self._regex_id(item))
                    if not context:
                        self._searched_regexes.add(regex_ids[-1])
                    regex_groups.append(group)
        return CompiledPart(
            name,
            tuple(literal_ids),
            tuple(literal_groups),
            tuple(regex_ids),
            tuple(regex_groups),
            fields=fields,
        )

    def _entity_part(
        self,
        name: str,
        part: Selection,
        at: Located,
        fields: frozenset[ArticleField],
        year: bool,
        month: bool,
    ) -> CompiledPart:
        doc, base = at
        assert part.entity is not None
        # the options that compare a product's origin with a list of places
        origin_options = (
            ("made_abroad", part.made_abroad),
            ("made_at_home", part.made_at_home),
            ("origin_elsewhere", part.origin_elsewhere),
        )
        use = self._entity_lists.get(part.entity)
        if use is None:
            hint = (
                " (it is a term list; use any: ['@" + part.entity + "'])"
                if part.entity in self._term_lists
                else _suggest(part.entity, self._entity_lists)
            )
            self.fail((doc, (*base, "entity")), f"unknown entity list '{part.entity}'{hint}")
        else:
            attributes = use.compiled.attribute_names()
            for attribute in [*(part.where or {}), *([part.distinct] if part.distinct else [])]:
                if attribute not in attributes and attribute != "id":
                    self.fail(
                        (doc, base),
                        f"no entity in list '{part.entity}' has an attribute '{attribute}'"
                        f"{_suggest(attribute, attributes)}",
                    )
            if part.in_office and not use.compiled.has_offices:
                self.fail((doc, (*base, "in_office")), f"list '{part.entity}' records no offices")
            for option, places in origin_options:
                if places is not None and "origin" not in attributes:
                    self.fail(
                        (doc, (*base, option)),
                        f"'{option}' needs entities with an 'origin' attribute; list '{part.entity}' has none",
                    )
        for option, places in origin_options:
            if places is not None and places not in self._entity_lists:
                self.fail(
                    (doc, (*base, option)),
                    f"'{option}' needs an entity list of places, not '{places}'"
                    f"{_suggest(places, self._entity_lists)}",
                )
        if part.abroad_from is not None:
            people = self._entity_lists.get(part.abroad_from)
            if people is None or not people.compiled.has_offices:
                self.fail(
                    (doc, (*base, "abroad_from")),
                    f"'abroad_from' needs an entity list that records offices, not '{part.abroad_from}'",
                )
        where = tuple(
            (key, tuple(value) if isinstance(value, list) else value)
            for key, value in (part.where or {}).items()
        )
        return CompiledPart(
            name,
            required=part.min,
            entity_list=part.entity,
            where=where,
            in_office=part.in_office,
            distinct=part.distinct,
            abroad_from=part.abroad_from,
            made_abroad=part.made_abroad,
            made_at_home=part.made_at_home,
            origin_elsewhere=part.origin_elsewhere,
            fields=fields,
            year_before_published=year,
            month_before_published=month,
        )

    def _compile_routes(
        self, model: RuleFile, doc: MarkedDocument, parts: Mapping[str, int]
    ) -> tuple[tuple[tuple[str | None, Node], ...], dict[str, Node]] | None:
        """The rule's routes (one named None for a plain condition), and its named conditions."""
        written: list[tuple[str | None, str, Location]] = []
        if model.routes is not None:
            for route_name, route in model.routes.items():
                text = route.condition if isinstance(route, Route) else route
                loc: Location = ("routes", route_name)
                written.append((route_name, text, (*loc, "condition") if isinstance(route, Route) else loc))
        elif model.condition is not None:
            written.append((None, model.condition, ("condition",)))
        found = self._named_conditions(model, doc, parts)
        if found is None:
            return None
        named, named_written = found
        routes: list[tuple[str | None, Node]] = []
        used: set[str] = set()
        named_used: set[str] = set()
        for name, text, loc in written:
            node = self._compile_condition(text, doc, loc, parts, used, named, named_used)
            if node is not None:
                routes.append((name, node))
        if len(routes) < len(written):
            return None  # a route that did not parse uses parts no one can tell
        reached = list(named_used)
        while reached:  # a named condition used by a used one is used
            for ref in references(named_written[reached.pop()]):
                if ref.name in named and ref.name not in named_used:
                    named_used.add(ref.name)
                    reached.append(ref.name)
        for name in named:
            if name not in named_used:
                self.fail((doc, ("conditions", name)), f"condition '{name}' is not used", at_key=True)
        for name in parts:
            if name not in used:
                where = "any route" if model.routes is not None else "the condition"
                self.fail((doc, ("parts", name)), f"part '{name}' is not used in {where}", at_key=True)
        return tuple(routes), named

    def _named_conditions(
        self, model: RuleFile, doc: MarkedDocument, parts: Mapping[str, int]
    ) -> tuple[dict[str, Node], dict[str, Node]] | None:
        """The rule's named conditions, each with the named ones it uses put in (``substitute``),
        and each as written; None when one does not parse, names an unknown part, or uses itself."""
        written = model.conditions or {}
        parsed: dict[str, Node] = {}
        for name, text in written.items():
            loc: Location = ("conditions", name)
            if name in parts:
                self.fail((doc, loc), f"condition '{name}' has the name of a part", at_key=True)
                continue
            node = self._compile_condition(text, doc, loc, parts, set(), None, set(), names=set(written))
            if node is not None:
                parsed[name] = node
        if len(parsed) < len(written):
            return None
        done: dict[str, Node] = {}

        def resolve(name: str, chain: tuple[str, ...]) -> Node | None:
            if name in done:
                return done[name]
            if name in chain:
                cycle = " -> ".join((*chain[chain.index(name) :], name))
                self.fail(
                    (doc, ("conditions", name)), f"condition '{name}' uses itself ({cycle})", at_key=True
                )
                return None
            inner: dict[str, Node] = {}
            for ref in references(parsed[name]):
                if ref.name in parsed and ref.name not in inner:
                    node = resolve(ref.name, (*chain, name))
                    if node is None:
                        return None
                    inner[ref.name] = node
            try:
                done[name] = substitute(parsed[name], inner)
            except ConditionError as exc:
                self.errors.append(
                    doc.problem_inside(("conditions", name), exc.position, f"condition: {exc}")
                )
                return None
            return done[name]

        for name in parsed:
            if resolve(name, ()) is None:
                return None
        return done, parsed

    def _compile_condition(
        self,
        text: str,
        doc: MarkedDocument,
        loc: Location,
        parts: Mapping[str, int],
        used: set[str],
        named: Mapping[str, Node] | None,
        named_used: set[str],
        *,
        names: set[str] | None = None,
    ) -> Node | None:
        """The parsed condition at ``loc``, with the rule's ``named`` conditions put in; ``names``
        instead only lets a named condition's own references to the others through, unresolved."""
        try:
            condition = parse_condition(text)
        except ConditionError as exc:
            self.errors.append(doc.problem_inside(loc, exc.position, f"condition: {exc}"))
            return None
        known = set(named or ()) | (names or set())
        unknown = False
        for ref in references(condition):
            if ref.name in known:
                named_used.add(ref.name)
                continue
            used.add(ref.name)
            if ref.name not in parts:
                unknown = True
                hint = _suggest(ref.name, parts)
                if ref.name in self._guards:
                    hint = f" ('{ref.name}' is a guard: list it under a part's 'guards')"
                self.errors.append(
                    doc.problem_inside(loc, ref.position, f"condition: unknown part '{ref.name}'{hint}")
                )
        if unknown or not named:
            return None if unknown else condition
        try:
            condition = substitute(condition, dict(named))
        except ConditionError as exc:
            self.errors.append(doc.problem_inside(loc, exc.position, f"condition: {exc}"))
            return None
        if depth(condition) > 2 * MAX_DEPTH:
            self.fail(
                (doc, loc),
                f"condition nested deeper than {2 * MAX_DEPTH} levels with its named conditions in",
            )
            return None
        used.update(ref.name for ref in references(condition))
        return condition

    # -- candidate selection -----------------------------------------------


def _examples(model: RuleFile, doc: MarkedDocument) -> tuple[RuleExample, ...]:
    examples: list[RuleExample] = []
    for expect, key in ((True, "match"), (False, "no_match")):
        for index, example in enumerate(getattr(model.examples, key)):
            line = doc.locate(("examples", key, index)).line
            examples.append(
                RuleExample(expect, index + 1, _example_article(model.id, key, index, example), line)
            )
    return tuple(examples)


def _example_article(rule_id: str, key: str, index: int, example: str | ExampleArticle) -> Article:
    article_id = f"{rule_id}:{key}:{index + 1}"
    if isinstance(example, str):
        return Article(id=article_id, body=example)
    published = example.published
    if isinstance(published, dt.date) and not isinstance(published, dt.datetime):
        published = dt.datetime.combine(published, dt.time(12), tzinfo=dt.UTC)
    return Article(
        id=article_id,
        title=example.title,
        summary=example.summary,
        body=example.body,
        published=published,
        language=example.language,
    )


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else ""
