"""MinHash signatures: exactly the documented definition, whether signed one at a time or a feed at once."""

from __future__ import annotations

import random
import re
import zlib

import pytest

from service.ingest.minhash import (
    BINS,
    EMPTY,
    MAX_CHARS,
    MIN_SHINGLES,
    SHINGLE,
    VERIFY_BINS,
    signature,
    signatures,
)
from tests.storygen import load_stories, rewrite

MASK = 0xFFFFFFFF


def definition(title: str, body: str) -> str | None:
    """The signature as minhash.py defines it, one shingle at a time."""
    words = re.findall(r"\w+", f"{title} {body[:MAX_CHARS]}".casefold())
    if len(words) < MIN_SHINGLES + SHINGLE - 1:
        return None
    hashes = [zlib.crc32(w.encode()) for w in words]
    shingles = {
        (a * 0x9E3779B1 + b * 0x85EBCA77 + c) & MASK
        for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
    }
    if len(shingles) < MIN_SHINGLES:
        return None
    minima = [MASK] * BINS
    for h in shingles:
        minima[h % BINS] = min(minima[h % BINS], h // BINS)
    verify = [MASK] * VERIFY_BINS  # the same, over a second hash of each shingle
    for h in map(remix, shingles):
        verify[h % VERIFY_BINS] = min(verify[h % VERIFY_BINS], h // VERIFY_BINS)
    return "".join(EMPTY if v == MASK else f"{v & 0xFFFF:04x}" for v in minima + verify)


def remix(h: int) -> int:
    for _ in range(2):
        h = ((h ^ (h >> 16)) * 0x45D9F3B) & MASK
    return h ^ (h >> 16)


def texts() -> list[tuple[str, str]]:
    out = [(s["title"], s["body"]) for s in load_stories()]
    out += [rewrite(s["title"], s["body"], seed) for s in load_stories() for seed in range(3)]
    # Casefolding that changes length or leaves ASCII (ß, ﬀ, the Kelvin sign), scripts without spaces,
    # digits, underscores and punctuation: the word rule is \w+ of the casefolded text.
    vocabulary = [
        "Straße",
        "ﬀ",
        "\u212a",
        "İstanbul",
        "東京",
        "Ελλάδα",
        "x_y",
        "½",
        "2024",
        "naïve",
        "a",
        "b",
    ]
    rng = random.Random(7)
    for _ in range(300):
        words = rng.choices(vocabulary, k=rng.randint(0, 40))
        out.append((" ".join(words[:3]), ", ".join(words[3:])))
    for n in range(14):  # around the length limits: too few words, too few distinct shingles
        out.append(("", " ".join(f"w{i}" for i in range(n))))
        out.append(("", " ".join(["again"] * n)))
    out.append(("Long", "lead " * 1500 + "tail words past the limit"))
    return out


def test_signatures_follow_the_definition_one_at_a_time_and_in_a_batch() -> None:
    cases = texts()
    expected = [definition(t, b) for t, b in cases]
    # The cases reach every branch: too short, and bins left empty.
    assert None in expected
    assert any(e and EMPTY in e for e in expected)

    assert signatures(cases) == expected
    assert [signature(t, b) for t, b in cases[:60]] == expected[:60]
    assert signatures([]) == []
    assert signatures([("too", "short")]) == [None]


@pytest.mark.parametrize(
    ("title", "body", "stored"),
    [
        (
            "Leaders meet in Hanoi",
            "The two leaders met on Thursday in Hanoi and agreed to talk again before the end of the year, officials said.",
            "--------bd2d22068fd8----3787582ab9c586471793--------950b--------------------5ffd----6ec7----2bd3----5971----7358----f31b--------",
        ),
        (
            "Straße über Köln",
            "Die Straße über den Fluss wurde am Montag für den Verkehr gesperrt, teilte die Stadt mit, und bleibt es bis Freitag.",
            "dbd73f5b----e5c054ab3d4d--------3963----21ac----1be7----f90d----6016----0a30--------77bf--------071d69013104--------e6a3----eda4",
        ),
    ],
)
def test_signatures_never_change_so_stored_ones_stay_comparable(title: str, body: str, stored: str) -> None:
    # Signatures live in Redis for the story window; a new hashing would keep
    # the articles after an upgrade from joining the stories before it. The
    # bins lookup bands over never change; the verification bins that follow
    # them came later, and a stored signature without them is judged on the
    # bins it has (ingest_batch.lua).
    assert (signature(title, body) or "")[: 4 * BINS] == stored
