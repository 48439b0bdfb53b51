"""The rule language's file formats, as pydantic models.

The same models validate files at load time (unknown keys are errors) and
produce the JSON Schema that editors use to autocomplete rule files
(``geoalert rules schema``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, TypeAdapter, model_validator

from service.matching.condition import KEYWORDS
from service.models import ArticleField, Severity

ALL_FIELDS: tuple[ArticleField, ...] = ("title", "summary", "body")
CONDITION_SYNTAX = (
    "boolean expression over part names: " + ", ".join(sorted(KEYWORDS)) + "; parentheses, "
    "'N of (a, b, ...)', 'sentence(a, b, not c)' (all in one sentence), 'clause(a, not c)' (in one "
    "clause of a sentence), 'near(a, b, 5)' (b within 5 words of a)"
)

# Dates may be written quoted; YAML already types everything else.
LaxDate = Annotated[dt.date, Strict(False)]
LaxDateTime = Annotated[dt.datetime, Strict(False)]

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


# A list is compiled into the matcher whole: beyond this it is more likely a
# mistake (or an attack) than a vocabulary, and it would take seconds to load.
MAX_LIST_ITEMS = 50_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TermObject(_Strict):
    """A term with options; a plain string is the same term with every option off."""

    text: str = Field(min_length=1, description="the term, in the same syntax as a plain string term")
    case_sensitive: bool = Field(
        False,
        description="match only with this capitalisation (e.g. 'Moon', 'US'); accents are still ignored",
    )
    weak: bool = Field(
        False,
        description="entity aliases only: counts only if the same entity is also named by a strong alias "
        "in the article (surnames such as 'Kim')",
    )


Term = Annotated[
    str | TermObject,
    Field(
        description="'phrase' (word boundaries, case and accents ignored); '~word' adds inflections; "
        "'word*' matches word prefixes; '/regex/' is an RE2 regex; '@name' includes a term list"
    ),
]


class Selection(_Strict):
    """What to look for: terms or entities, and how many. Parts and guards are selections."""

    any: list[Term] | None = Field(None, min_length=1, description="matches if any of these terms occurs")
    all: list[Term] | None = Field(
        None, min_length=1, description="matches if every one of these terms occurs"
    )
    entity: Identifier | None = Field(None, description="name of an entity list whose entries to look for")
    where: dict[str, str | bool | list[str]] | None = Field(
        None,
        description="entity parts: keep entries whose attributes equal (or, for a list, are among) these",
    )
    in_office: bool = Field(
        False, description="entity parts: keep only entries in office on the article's publication date"
    )
    min: int = Field(1, ge=1, description="how many distinct terms (or entities) must occur together")
    distinct: str | None = Field(
        None, description="entity parts: count distinct values of this attribute (e.g. 'country') for 'min'"
    )
    abroad_from: Identifier | None = Field(
        None,
        description=(
            "entity parts over places: drop a place that is the country of a sitting person of this "
            "list named in the same sentence ('Modi visits Japan' keeps Japan, 'Modi visits India' does not)"
        ),
    )
    made_abroad: Identifier | None = Field(
        None,
        description=(
            "entity parts over products: keep an entry whose 'origin' attribute is a country other "
            "than one of this list named in the same sentence ('Switzerland signed for 36 F-35As' "
            "names the seller by its jet; 'the U.S. Air Force ordered F-35s' does not)"
        ),
    )
    made_at_home: Identifier | None = Field(
        None,
        description=(
            "entity parts over products: keep an entry whose 'origin' attribute is the only country "
            "of this list named in its sentence ('Japan's Defense Ministry signed with Mitsubishi "
            "Heavy Industries for more Type-12 missiles' is an order at home)"
        ),
    )
    origin_elsewhere: Identifier | None = Field(
        None,
        description=(
            "entity parts over products: keep an entry whose 'origin' attribute is not named in its "
            "sentence while the article names another country of this list ('the first Rafale jets "
            "landed at Pekanbaru air base' in a story about Indonesia)"
        ),
    )
    fields: list[ArticleField] | None = Field(None, min_length=1, description="article fields to search")
    year: Literal["before_published"] | None = Field(
        None, description="keep matches that contain a year earlier than the article's publication year"
    )
    month: Literal["before_published", "after_published"] | None = Field(
        None,
        description=(
            "keep matches that name a month earlier in the year than the article's publication month "
            "('in June' in an August article), or with after_published a later one, which a past "
            "event names in the year before ('In December, ... designated' in a May article)"
        ),
    )
    opens_clause: bool = Field(
        False,
        description=(
            "keep a match that opens its clause, after at most a conjunction: a time told first "
            "bears on the whole clause ('and in December 2025 Presidents Tshisekedi and Kagame "
            "signed ... at a ceremony hosted by Trump')"
        ),
    )
    not_within: list[Term] | None = Field(
        None,
        min_length=1,
        description=(
            "drop a match that lies inside a match of one of these terms: a look-around, which the "
            "regexes here lack ('in 2022' inside 'tanks ordered from Korea in 2022' dates the order)"
        ),
    )
    description: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> Selection:
        kinds = [name for name in ("any", "all", "entity") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError("a part needs exactly one of 'any', 'all' or 'entity'")
        if self.entity is None and (
            self.where
            or self.in_office
            or self.distinct
            or self.abroad_from
            or self.made_abroad
            or self.made_at_home
            or self.origin_elsewhere
        ):
            raise ValueError(
                "'where', 'in_office', 'distinct', 'abroad_from', 'made_abroad', 'made_at_home' and "
                "'origin_elsewhere' "
                "apply only to 'entity' parts"
            )
        return self


class Part(Selection):
    """A named selection of a rule, optionally guarded by shared guards."""

    guards: list[Identifier] | None = Field(
        None,
        min_length=1,
        description="shared guards (defined in a 'guards:' file) that veto an occurrence of this part "
        "when they occur within their scope of it",
    )


class Guard(Selection):
    """A veto defined once and used by name: an occurrence of a guarded part is dropped when the
    guard occurs within its scope of that occurrence."""

    scope: Literal["sentence", "clause", "article"] | None = Field(
        None,
        description="where the guard bites: the sentence (default) or the clause of the occurrence, or "
        "the whole article (a kind of piece that reports no event of the day, such as a 'Today in "
        "history' column)",
    )
    near: int | None = Field(
        None,
        ge=1,
        le=50,
        description="bite only within this many words of the occurrence (with scope: clause, and "
        "within its clause)",
    )
    spares: list[Term] | None = Field(
        None,
        min_length=1,
        description="never veto an occurrence that is one of these terms ('received' beside 'the tanks "
        "ordered in 2022': the year is the order's, not the delivery's)",
    )
    forward: bool = Field(
        False,
        description="veto only occurrences that come after the guard's own within its scope: a date "
        "followed by ', when' places what follows it in that year, not what was told before it",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> Guard:
        # "near N" reaches across clause breaks ("met on Tuesday, after they met in 2019"): a
        # clause bound keeps a far-reaching guard on its own side of them
        if self.scope == "sentence" and self.near is not None:
            raise ValueError("'near' already stays inside the sentence: give 'scope: clause' or no scope")
        if self.scope == "article" and self.near is not None:
            raise ValueError("'near' bounds a guard by words: it cannot also take the whole article")
        if self.scope == "article" and self.forward:
            raise ValueError("'forward' looks before each occurrence: it cannot take the whole article")
        return self


class GuardFile(_Strict):
    """Guards shared by every rule: history, speculation, hedges, dates."""

    guards: dict[Identifier, Guard] = Field(min_length=1)
    description: str = ""

    @model_validator(mode="after")
    def _names_are_not_keywords(self) -> GuardFile:
        clashes = sorted(KEYWORDS.intersection(self.guards))
        if clashes:
            raise ValueError(f"guard names cannot be condition keywords: {', '.join(clashes)}")
        return self


class Route(_Strict):
    """One named way a rule can hold."""

    condition: str = Field(min_length=1, description=CONDITION_SYNTAX)
    description: str = ""


class ExampleArticle(_Strict):
    """An article written inline in a rule, as its own test case."""

    title: str = ""
    summary: str = ""
    body: str = ""
    published: LaxDateTime | LaxDate | None = Field(
        None, description="publication date; office checks use it (default: today)"
    )
    language: str | None = None
    note: str = Field("", description="why this example matters")


Example = Annotated[str | ExampleArticle, Field(description="an article body, or an article with fields")]


class Examples(_Strict):
    match: list[Example] = Field(default_factory=list, description="articles the rule must match")
    no_match: list[Example] = Field(default_factory=list, description="articles the rule must not match")


class RuleFile(_Strict):
    """One rule: named parts combined by a condition."""

    id: Identifier
    title: str = Field(min_length=1)
    description: str = ""
    severity: Severity = "medium"
    tags: list[str] = Field(default_factory=list)
    fields: list[ArticleField] = Field(
        default_factory=lambda: list(ALL_FIELDS), min_length=1, description="default fields for every part"
    )
    parts: dict[Identifier, Part] = Field(min_length=1)
    conditions: dict[Identifier, str] | None = Field(
        None,
        description="named conditions, used by name in the condition, the routes or one another as a "
        "part is: a guard or an alternative written once ('home_order: clause(buying, home_maker)')",
    )
    condition: str | None = Field(None, min_length=1, description=CONDITION_SYNTAX)
    routes: dict[Identifier, str | Route] | None = Field(
        None,
        min_length=1,
        description="named alternatives, each a condition: the rule holds when one does, and the first "
        "that holds names the alert's route",
    )
    examples: Examples = Field(default_factory=Examples)

    @model_validator(mode="after")
    def _names_are_not_keywords(self) -> RuleFile:
        clashes = sorted(KEYWORDS.intersection({*self.parts, *(self.conditions or {})}))
        if clashes:
            raise ValueError(f"part names cannot be condition keywords: {', '.join(clashes)}")
        if (self.condition is None) == (self.routes is None):
            raise ValueError("a rule needs exactly one of 'condition' or 'routes'")
        return self


class TermListFile(_Strict):
    """A named list of terms that rules include with '@name'."""

    name: Identifier = Field(alias="list", description="the name rules use to include it: '@name'")
    description: str = ""
    as_of: LaxDate | None = Field(None, description="the date the list's facts were last checked")
    stale_after_days: int | None = Field(
        None, ge=1, description="warn once 'as_of' is this many days old (default: the service's setting)"
    )
    terms: list[Term] = Field(min_length=1, max_length=MAX_LIST_ITEMS)


class Office(_Strict):
    """A period in which an entity held an office."""

    role: str = Field(min_length=1, description="a key of the list's 'titles.roles', e.g. 'president'")
    country: str | None = Field(
        None, description="country entity id; default: the entity's 'country' attribute"
    )
    start: LaxDate = Field(alias="from")
    end: LaxDate | None = Field(None, alias="to", description="last day in office; omitted while in office")
    leader: bool = Field(False, description="the country's leader while holding this office")
    note: str = ""
    unverified: bool = Field(
        False, description="not checked against a source yet; 'rules check' and /healthz list it"
    )


class Entity(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1, description="full name; always an alias")
    aliases: list[Term] = Field(default_factory=list)
    attributes: dict[str, str | int | bool | list[str]] = Field(default_factory=dict)
    offices: list[Office] = Field(default_factory=list)
    note: str = ""
    unverified: bool = Field(
        False, description="not checked against a source yet; 'rules check' and /healthz list it"
    )


class Titles(_Strict):
    """Generated aliases such as 'the Russian president', resolved to the office holder by date."""

    places: Identifier = Field(description="entity list of countries, with 'demonyms' and 'names' attributes")
    roles: dict[str, list[str]] = Field(
        description="office role -> words for it; the role 'leader' stands for whoever leads the country"
    )
    templates: list[str] = Field(
        min_length=1, description="patterns using {title}, {demonym} and {country}, e.g. '{demonym} {title}'"
    )
    skip_after: list[str] = Field(
        default_factory=list, description="a title preceded by one of these words is ignored (former, deputy)"
    )
    refer_back: list[str] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description=(
            "articles ('the', 'der', 'le') before which a title with no country names the sitting "
            "holder of that role named last before it in the article ('the crown prince'); not for "
            "the role 'leader'"
        ),
    )
    skip_before: list[str] = Field(
        default_factory=list,
        description="a title followed by one of these words is ignored (president-elect)",
    )
    beside_places: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "office role -> words that name the holder when a word of one of the places stands "
            "right after them, or right before them ('le président indonésien', 'el jefe de Estado "
            "de Venezuela', 'der polnische Staatschef'): the word orders of languages the "
            "templates do not fit; no alias is generated from them"
        ),
    )
    joined_places: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "office role -> plural words that name the holder of each of two or more places joined "
            "right before them ('the Uzbek and Kyrgyz presidents', 'los presidentes chileno y "
            "argentino' is not read); no alias is generated from them"
        ),
    )
    joined_counterparts: list[str] = Field(
        default_factory=list,
        description=(
            "plural words for someone's equals ('counterparts', 'homólogos'): like the role 'leader' "
            "under joined_places, but only after a sitting holder named before them in the sentence "
            "('President Tokayev welcomed his Uzbek and Kyrgyz counterparts'); a minister's or an "
            "envoy's counterparts are no leaders"
        ),
    )
    before_names: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "office role -> words that stand before a holder's name only ('prezydenta Lee', "
            "'Cumhurbaşkanı Erdoğan'): a weak alias counts right after them, and no title "
            "alias is generated from them (the templates are in another language's word order)"
        ),
    )


class EntityListFile(_Strict):
    """A named list of entities (people, countries, weapon systems) with aliases and attributes."""

    name: Identifier = Field(alias="list", description="the name parts use: 'entity: name'")
    description: str = ""
    as_of: LaxDate | None = Field(None, description="the date the list's facts were last checked")
    stale_after_days: int | None = Field(
        None, ge=1, description="warn once 'as_of' is this many days old (default: the service's setting)"
    )
    entities: list[Entity] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    titles: Titles | None = None


AnyFile = RuleFile | TermListFile | EntityListFile | GuardFile


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every file in a rules directory."""
    schema = TypeAdapter(AnyFile).json_schema(by_alias=True)
    definitions = schema["$defs"]
    # names the condition parser reads as keywords cannot name parts or guards: the same set for both
    for model, key in (("RuleFile", "parts"), ("GuardFile", "guards")):
        names = definitions[model]["properties"][key].setdefault("propertyNames", {})
        names["not"] = {"enum": sorted(KEYWORDS)}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "geoalert rule or list file"
    return schema
