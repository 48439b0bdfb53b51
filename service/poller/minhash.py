"""MinHash signatures of article text, for spotting the same story told twice.

Shingles are runs of three words; two texts share a story when the Jaccard
similarity of their shingle sets is high. A signature estimates it cheaply:
one-permutation MinHash (Li, Owen & Zhang, NIPS 2012) hashes each shingle
once, drops it into one of ``BINS`` bins by its hash, and keeps each bin's
minimum. The fraction of bins two signatures share estimates their Jaccard
similarity. For lookup, the bins are cut into bands of ``ROWS`` bins (LSH):
texts above the threshold share at least one band with high probability,
so only those few candidates are compared.

CRC-32 is the hash: stable across processes and hosts (Python's ``hash`` is
not), fast, and uniform enough for bins and minima.
"""

from __future__ import annotations

import re
import zlib

SHINGLE = 3
BINS = 64
ROWS = 2  # bins per band: 32 bands; a pair at Jaccard 0.4 shares a band with p > 0.99
BANDS = BINS // ROWS
EMPTY = "----"
MIN_SHINGLES = 8  # fewer, and a signature says too little to join a story
MAX_CHARS = 6_000  # the lead of a story carries it; longer bodies add cost, not signal

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(title: str, body: str) -> set[str]:
    words = _WORD.findall(f"{title} {body[:MAX_CHARS]}".casefold())
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def signature(title: str, body: str) -> str | None:
    """The signature as BINS four-hex-digit values (EMPTY for an empty bin); None for short texts."""
    found = shingles(title, body)
    if len(found) < MIN_SHINGLES:
        return None
    mins: list[int | None] = [None] * BINS
    for shingle in found:
        h = zlib.crc32(shingle.encode("utf-8"))
        b, v = h % BINS, h // BINS
        current = mins[b]
        if current is None or v < current:
            mins[b] = v
    # 16 bits of each minimum: equal minima (the same shingle) stay equal; others rarely collide.
    return "".join(EMPTY if v is None else f"{v & 0xFFFF:04x}" for v in mins)


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


def bands(sig: str) -> list[tuple[int, str]]:
    """(band number, band value) for every band without an empty bin."""
    width = 4 * ROWS
    out = []
    for band in range(BANDS):
        value = sig[band * width : (band + 1) * width]
        if EMPTY not in value:
            out.append((band, value))
    return out
