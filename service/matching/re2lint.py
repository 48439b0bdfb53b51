"""What RE2 reads differently from what a rule author means: ``\\b`` beside a letter outside ASCII.

RE2's ``\\b`` and ``\\w`` know ASCII letters only. ``/\\bобвинил\\b/`` or ``/\\b(?:opроверг|...)/``
therefore never match: between a space and a Cyrillic letter there is no ASCII word boundary.
Such a term fails silently, so ``rules check`` warns about it and names the letter.
"""

from __future__ import annotations


def _alternatives(group: str) -> list[str]:
    """The top-level alternatives of a group's body (without its parentheses)."""
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    while index < len(group):
        char = group[index]
        if char == "\\":
            index += 2
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(group[start:index])
            start = index + 1
        index += 1
    parts.append(group[start:])
    return parts


def _group_end(pattern: str, open_at: int) -> int:
    """The index of the parenthesis closing the one at ``open_at``, or -1."""
    depth = 0
    index = open_at
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def _group_start(pattern: str, close_at: int) -> int:
    depth = 0
    for index in range(close_at, -1, -1):
        if index > 0 and pattern[index - 1] == "\\":
            continue
        if pattern[index] == ")":
            depth += 1
        elif pattern[index] == "(":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _body(pattern: str, open_at: int, close_at: int) -> str:
    body = pattern[open_at + 1 : close_at]
    if body.startswith("?:"):
        return body[2:]
    return body


def non_ascii_beside_boundary(pattern: str) -> list[str]:
    """The letters outside ASCII that stand right after or right before a ``\\b`` of ``pattern``,
    directly or as the first or last letter of an alternative of a group beside it."""
    found: list[str] = []
    index = pattern.find("\\b")
    while index != -1:
        if index > 0 and pattern[index - 1] == "\\":
            index = pattern.find("\\b", index + 2)
            continue
        after = index + 2
        if after < len(pattern):
            if pattern[after] == "(":
                close = _group_end(pattern, after)
                if close != -1:
                    found += [
                        alt[0]
                        for alt in _alternatives(_body(pattern, after, close))
                        if alt and not alt[0].isascii()
                    ]
            elif not pattern[after].isascii():
                found.append(pattern[after])
        before = index - 1
        if before >= 0:
            if pattern[before] == ")":
                open_at = _group_start(pattern, before)
                if open_at != -1:
                    found += [
                        alt[-1]
                        for alt in _alternatives(_body(pattern, open_at, before))
                        if alt and not alt[-1].isascii()
                    ]
            elif not pattern[before].isascii():
                found.append(pattern[before])
        index = pattern.find("\\b", index + 2)
    return [letter for letter in dict.fromkeys(found) if letter.isalpha()]
