"""Term lists inside regular expressions: ``{@months}`` stands for the list's terms, as alternatives.

A library's regexes spell the same small vocabularies again and again: the twelve month names
stood in thirty patterns, each a copy that could drift from the others. Written once as a term
list, such a vocabulary is read by name inside any regex (``/\\bin {@months}\\b/``), and the
regex that runs is the one that would have been written out by hand: ``(?:january|...|december)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from service.matching.terms import LiteralTerm, RegexTerm

FRAGMENT = re.compile(r"\{@([a-z][a-z0-9_]*)\}")
# RE2's characters with a meaning of their own outside a class; a list's phrases stand for
# themselves, so these are escaped ("st. petersburg", "u.s.")
_SPECIAL = frozenset("\\.+*?()|[]{}^$")


class FragmentError(ValueError):
    """A list that cannot stand inside a regex; the message says why."""


def is_regex(text: str) -> bool:
    return len(text) >= 2 and text.startswith("/") and text.endswith("/")


def expand(text: str, resolve: Callable[[str], Sequence[LiteralTerm | RegexTerm] | None]) -> str | None:
    """``text`` with each ``{@name}`` replaced by the alternation of the list's terms; None when
    ``resolve`` finds no list by a name (it reports why)."""
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        terms = resolve(name)
        if terms is None:
            unresolved = True
            return ""
        return alternation(name, terms)

    expanded = FRAGMENT.sub(replace, text)
    return None if unresolved else expanded


def alternation(name: str, terms: Sequence[LiteralTerm | RegexTerm]) -> str:
    """The list's terms as one non-capturing group: its phrases (every form of each, folded as the
    text is) escaped, its regexes as they are."""
    forms: list[str] = []
    for term in terms:
        if isinstance(term, RegexTerm):
            forms.append(term.pattern)
        elif term.prefix:
            raise FragmentError(
                f"list '@{name}' has the prefix term '{term.display}', which cannot stand in a regex"
            )
        elif term.cased is not None:
            raise FragmentError(
                f"list '@{name}' has the case-sensitive term '{term.display}', which cannot stand in a regex "
                "(a regex reads the folded text)"
            )
        else:
            forms.extend(
                "".join("\\" + char if char in _SPECIAL else char for char in form) for form in term.variants
            )
    if not forms:
        raise FragmentError(f"list '@{name}' has no terms to stand in a regex")
    return "(?:" + "|".join(dict.fromkeys(forms)) + ")"
