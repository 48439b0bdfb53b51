"""A small English inflector for '~word' terms.

It produces the forms a news text uses of a base word: the plural or third
person ("meets", "supplies"), the past and past participle ("met",
"supplied") and the gerund ("meeting"). Irregular verbs and plurals come from
tables; regular forms follow the spelling rules. Over-generation is harmless
for matching ("talked" from "talk"), so the rules stay simple.
"""

from __future__ import annotations

# base: (past, past participle)
_IRREGULAR_VERBS: dict[str, tuple[str, ...]] = {
    "arise": ("arose", "arisen"),
    "be": ("was", "were", "been", "is", "are", "being"),
    "begin": ("began", "begun"),
    "break": ("broke", "broken"),
    "bring": ("brought",),
    "build": ("built",),
    "buy": ("bought",),
    "choose": ("chose", "chosen"),
    "come": ("came",),
    "deal": ("dealt",),
    "do": ("did", "done", "does"),
    "draw": ("drew", "drawn"),
    "drive": ("drove", "driven"),
    "fall": ("fell", "fallen"),
    "feel": ("felt",),
    "fight": ("fought",),
    "find": ("found",),
    "fly": ("flew", "flown"),
    "forbid": ("forbade", "forbidden"),
    "forgo": ("forwent", "forgone"),
    "freeze": ("froze", "frozen"),
    "get": ("got", "gotten"),
    "give": ("gave", "given"),
    "go": ("went", "gone", "goes"),
    "grow": ("grew", "grown"),
    "have": ("had", "has"),
    "hold": ("held",),
    "keep": ("kept",),
    "know": ("knew", "known"),
    "lay": ("laid",),
    "lead": ("led",),
    "leave": ("left",),
    "lend": ("lent",),
    "let": ("let",),
    "lose": ("lost",),
    "make": ("made",),
    "mean": ("meant",),
    "meet": ("met",),
    "pay": ("paid",),
    "put": ("put",),
    "quit": ("quit",),
    "read": ("read",),
    "rise": ("rose", "risen"),
    "run": ("ran",),
    "say": ("said",),
    "see": ("saw", "seen"),
    "seek": ("sought",),
    "sell": ("sold",),
    "send": ("sent",),
    "set": ("set",),
    "shake": ("shook", "shaken"),
    "shoot": ("shot",),
    "sit": ("sat",),
    "speak": ("spoke", "spoken"),
    "spend": ("spent",),
    "stand": ("stood",),
    "strike": ("struck",),
    "swear": ("swore", "sworn"),
    "take": ("took", "taken"),
    "teach": ("taught",),
    "tell": ("told",),
    "think": ("thought",),
    "throw": ("threw", "thrown"),
    "undertake": ("undertook", "undertaken"),
    "upset": ("upset",),
    "win": ("won",),
    "withdraw": ("withdrew", "withdrawn"),
    "write": ("wrote", "written"),
    "shut": ("shut",),
    "cut": ("cut",),
    "hit": ("hit",),
    "bid": ("bid",),
    "forecast": ("forecast",),
}
_IRREGULAR_PLURALS: dict[str, tuple[str, ...]] = {
    "man": ("men",),
    "woman": ("women",),
    "child": ("children",),
    "person": ("people",),
    "aircraft": ("aircraft",),
    "ammunition": ("ammunition",),
    "equipment": ("equipment",),
    "hardware": ("hardware",),
    "materiel": ("materiel",),
    "series": ("series",),
    "crisis": ("crises",),
    "analysis": ("analyses",),
    "thesis": ("theses",),
    "spacecraft": ("spacecraft",),
    "chief": ("chiefs",),
    "leaf": ("leaves",),
    "life": ("lives",),
    "half": ("halves",),
}
# Words whose final consonant doubles although they have two syllables.
_DOUBLES = frozenset(
    {
        "transfer",
        "refer",
        "confer",
        "equip",
        "commit",
        "admit",
        "submit",
        "permit",
        "omit",
        "control",
        "patrol",
        "compel",
        "expel",
        "propel",
        "regret",
        "occur",
        "prefer",
        "defer",
        "deter",
        "embed",
        "abet",
        "rebel",
        "acquit",
        "allot",
        "outfit",
    }
)
_VOWELS = frozenset("aeiou")


def inflections(word: str) -> set[str]:
    """The word itself and its regular or irregular inflected forms."""
    forms = {word}
    if not word.isalpha() or not word.isascii():
        return forms
    forms.update(_IRREGULAR_PLURALS.get(word, ()))
    forms.update(_IRREGULAR_VERBS.get(word, ()))
    forms.add(_third_person(word))
    if word not in _IRREGULAR_VERBS:
        forms.add(_past(word))
    forms.add(_gerund(word))
    if len(word) > 3 and word[-1] == "l" and word[-2] in _VOWELS and word[-3] not in _VOWELS:
        # British spelling doubles a final l: cancelled, travelling, labelled
        forms.update({word + "led", word + "ling"})
    return forms


def _doubles_final(word: str) -> bool:
    if word in _DOUBLES:
        return True
    # one-syllable consonant-vowel-consonant words: stop -> stopped, ship -> shipped
    if len(word) < 3 or word[-1] in _VOWELS or word[-1] in "wxy":
        return False
    vowel_groups = sum(
        1 for i, c in enumerate(word) if c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS)
    )
    return vowel_groups == 1 and word[-2] in _VOWELS and word[-3] not in _VOWELS


def _third_person(word: str) -> str:
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in _VOWELS:
        return word[:-1] + "ies"
    return word + "s"


def _past(word: str) -> str:
    if word.endswith("e"):
        return word + "d"
    if word.endswith("y") and len(word) > 1 and word[-2] not in _VOWELS:
        return word[:-1] + "ied"
    if _doubles_final(word):
        return word + word[-1] + "ed"
    return word + "ed"


def _gerund(word: str) -> str:
    if word.endswith("ie"):
        return word[:-2] + "ying"
    if word.endswith("e") and not word.endswith(("ee", "ye", "oe")) and len(word) > 2:
        return word[:-1] + "ing"
    if _doubles_final(word):
        return word + word[-1] + "ing"
    return word + "ing"
