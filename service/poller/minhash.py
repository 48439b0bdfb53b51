"""MinHash signatures of article text, for spotting the same story told twice.

Shingles are runs of three words; two texts share a story when the Jaccard
similarity of their shingle sets is high. A signature estimates it cheaply:
one-permutation MinHash (Li, Owen & Zhang, NIPS 2012) hashes each shingle
once, drops it into one of ``BINS`` bins by its hash, and keeps each bin's
minimum. The fraction of bins two signatures share estimates their Jaccard
similarity. For lookup (stories.py), the bins are cut into bands of ``ROWS``
bins (LSH): texts above the threshold share at least one band with high
probability, so only those few candidates are compared.

Hashes are CRC-32 of each word, combined per shingle: stable across
processes and hosts (Python's ``hash`` is not), and cheap.
"""

from __future__ import annotations

import re
import zlib

SHINGLE = 3
BINS = 32
ROWS = 2  # bins per band: 16 bands; a pair at Jaccard 0.4 shares a band with p = 0.94, at 0.5 p = 0.99
EMPTY = "----"
MIN_SHINGLES = 8  # fewer, and a signature says too little to join a story
MAX_CHARS = 6_000  # the lead of a story carries it; longer bodies add cost, not signal

_WORD = re.compile(r"\w+", re.UNICODE)
_MASK = 0xFFFFFFFF


def signature(title: str, body: str) -> str | None:
    """The signature as BINS four-hex-digit values (EMPTY for an empty bin); None for short texts."""
    words = _WORD.findall(f"{title} {body[:MAX_CHARS]}".casefold())
    if len(words) < MIN_SHINGLES + SHINGLE - 1:
        return None
    cache: dict[str, int] = {}
    hashes = [cache[w] if w in cache else cache.setdefault(w, zlib.crc32(w.encode())) for w in words]
    shingles = {
        (a * 0x9E3779B1 + b * 0x85EBCA77 + c) & _MASK
        for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
    }
    if len(shingles) < MIN_SHINGLES:
        return None
    mins = [_MASK] * BINS
    for h in shingles:
        b, v = h % BINS, h // BINS
        if v < mins[b]:
            mins[b] = v
    # 16 bits of each minimum: equal minima (the same shingle) stay equal; others rarely collide.
    return "".join(EMPTY if v == _MASK else f"{v & 0xFFFF:04x}" for v in mins)


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity of two signatures (bins empty in both are ignored)."""
    same = both = 0
    for i in range(0, len(a), 4):
        x, y = a[i : i + 4], b[i : i + 4]
        if x == EMPTY and y == EMPTY:
            continue
        both += 1
        same += x == y
    return same / both if both else 0.0
