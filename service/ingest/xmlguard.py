"""Refuse XML whose DTD could blow up or reach out (billion laughs, external entities).

feedparser parses with expat. On this Python expat (2.4+) stops entity
amplification on its own, but only after seconds of CPU and tens of MB; and
feedparser strips unsafe ``<!ENTITY`` lines only when each starts a line. So
before any parsing we look at the prolog ourselves and refuse, with a reason,
any document that declares parameter entities, external entities, or entities
that refer to other entities. Plain text entities (``<!ENTITY copy "(c)">``)
pass: real feeds use them.
"""

from __future__ import annotations

import re

_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")
# A quoted value may itself contain ">", so quotes are matched as units.
_ENTITY_DECL = re.compile(rb"""<!ENTITY\s+(%\s*)?[^\s>]+((?:"[^"]*"|'[^']*'|[^'">])*)>""")
_EXTERNAL = re.compile(rb"^(SYSTEM|PUBLIC)\b")


class UnsafeXML(Exception):
    """The document's DTD is unsafe to expand; the message says what was found."""


def check_entities(body: bytes) -> None:
    # UTF-16/32 documents put NULs between ASCII bytes; without them the
    # declarations are plain ASCII to match.
    text = body.replace(b"\x00", b"") if b"\x00" in body[:4096] else body
    # The whole document, not just what precedes the first tag: a comment in
    # the prolog could hide where the DTD ends.
    if b"<!ENTITY" not in text:
        return
    for match in _ENTITY_DECL.finditer(text):
        parameter, value = match.group(1), _CHAR_REF.sub(b"", match.group(2).strip())
        if parameter:
            raise UnsafeXML("unsafe XML: the DTD declares a parameter entity")
        if _EXTERNAL.match(value):
            raise UnsafeXML("unsafe XML: the DTD declares an external entity")
        if b"&" in value or b"%" in value:
            raise UnsafeXML("unsafe XML: the DTD declares entities that expand other entities")
