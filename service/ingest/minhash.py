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
processes and hosts (Python's ``hash`` is not), and cheap. Signatures are
stored in Redis and compared with those of articles ingested days earlier,
so the hashing must never change: a new scheme would keep every article
after a deploy from joining the stories of the articles before it.

The 32 bins that lookup bands over are too few to decide a join: their
estimate of a Jaccard similarity of 0.12 has a standard deviation near 0.06,
so among the many pairs of distinct reports written on one wire template
some reach the threshold, and a wrong join silently loses an alert. A
signature therefore carries ``VERIFY_BINS`` more bins, from a second,
independent hash of each shingle; candidates found by the bands are judged
on all the bins (about 0.03 at 0.12: a distinct event on a shared template
stays well below 0.3). Lookup is unchanged, so the index costs no more keys.

A feed's articles are signed together (``signatures``): the per-shingle work
(combining, binning, keeping minima) runs once for the whole batch in numpy,
leaving Python only the per-word CRC-32 calls, which run in C through map().
"""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Iterable

import numpy as np

SHINGLE = 3
BINS = 32  # bins of the first hash: lookup bands over these
VERIFY_BINS = 128  # bins of the second hash: only for judging candidates
ROWS = 2  # bins per band: 16 bands; a pair at Jaccard 0.4 shares a band with p = 0.94, at 0.5 p = 0.99
EMPTY = "----"
MIN_SHINGLES = 8  # fewer, and a signature says too little to join a story
MAX_CHARS = 6_000  # the lead of a story carries it; longer bodies add cost, not signal

_WORD = re.compile(r"\w+", re.UNICODE)
_MASK = 0xFFFFFFFF
# For ASCII text, \w is exactly [A-Za-z0-9_]: mapping every other byte to a
# space and splitting gives the same words as _WORD, several times faster,
# and as bytes, which is what CRC-32 takes.
_NON_WORD_TO_SPACE = bytes(
    c if chr(c) in string.ascii_letters + string.digits + "_" else 0x20 for c in range(256)
)

# Bins take the low bits of a 32-bit shingle hash (5 of the first, 7 of the second).
_BIN_BITS = 5
_VERIFY_BIN_BITS = 7
assert 1 << _BIN_BITS == BINS
assert 1 << _VERIFY_BIN_BITS == VERIFY_BINS
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
assert len(set(EMPTY)) == 1  # one character, written per digit below


def _words(title: str, body: str) -> list[bytes]:
    text = f"{title} {body[:MAX_CHARS]}".casefold()
    if text.isascii():
        return text.encode("ascii").translate(_NON_WORD_TO_SPACE).split()
    return [w.encode() for w in _WORD.findall(text)]


def signature(title: str, body: str) -> str | None:
    """The signature as BINS + VERIFY_BINS four-hex-digit values (EMPTY for an empty bin); None for short texts."""
    return signatures([(title, body)])[0]


def signatures(texts: Iterable[tuple[str, str]]) -> list[str | None]:
    """``signature(title, body)`` of each (title, body), computed together."""
    hashes: list[int] = []  # CRC-32 of every word, text after text
    spans: list[tuple[int, int]] = []  # each text's words in hashes: (start, end)
    for title, body in texts:
        words = _words(title, body)
        start = len(hashes)
        if len(words) >= MIN_SHINGLES + SHINGLE - 1:
            hashes.extend(map(zlib.crc32, words))
        spans.append((start, len(hashes)))
    out: list[str | None] = [None] * len(spans)
    if not hashes:
        return out

    # One shingle per run of three words; runs that straddle two texts are dropped.
    h = np.array(hashes, dtype=np.uint64)
    combined = (h[:-2] * np.uint64(0x9E3779B1) + h[1:-1] * np.uint64(0x85EBCA77) + h[2:]) & np.uint64(_MASK)
    counts = np.array([end - start - (SHINGLE - 1) if end > start else 0 for start, end in spans])
    starts = np.array([start for start, _ in spans])
    owner = np.repeat(np.arange(len(spans), dtype=np.uint64), counts)
    position = np.arange(len(owner)) + np.repeat(starts - np.cumsum(counts) + counts, counts)
    shingle = combined[position]

    first_minima, enough = _minima(shingle, owner, len(spans), _BIN_BITS)
    verify_minima, _ = _minima(_remix(shingle), owner, len(spans), _VERIFY_BIN_BITS)
    minima = np.concatenate([first_minima, verify_minima], axis=1)

    # 16 bits of each minimum: equal minima (the same shingle) stay equal; others rarely collide.
    # Written as four hex digits per bin, "----" for an empty one, all rows at once.
    nibbles = (minima[:, :, None] >> np.array([12, 8, 4, 0])) & 0xF
    chars = np.where(minima[:, :, None] < 0, ord(EMPTY[0]), _HEX[nibbles])
    text = chars.astype(np.uint8).tobytes().decode("ascii")
    width = 4 * (BINS + VERIFY_BINS)
    for i in np.flatnonzero(enough).tolist():
        out[i] = text[i * width : (i + 1) * width]
    return out


def _remix(shingle: np.ndarray) -> np.ndarray:
    """A second hash of each shingle, independent of the first (a 32-bit integer mixer, a bijection)."""
    x = shingle.copy()
    for _ in range(2):
        x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x45D9F3B)) & np.uint64(_MASK)
    mixed: np.ndarray = x ^ (x >> np.uint64(16))
    return mixed


def _minima(
    shingle: np.ndarray, owner: np.ndarray, texts: int, bin_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's minimum per bin (-1: empty), and which texts have at least MIN_SHINGLES distinct shingles."""
    bins_n = 1 << bin_bits
    value_bits = 32 - bin_bits
    # Sorting (text, bin, value) does it all at once: a bin's minimum comes first
    # within its text and bin, and equal keys are the same shingle repeated.
    bins = shingle & np.uint64(bins_n - 1)
    key = np.sort(
        (owner << np.uint64(32)) | (bins << np.uint64(value_bits)) | (shingle >> np.uint64(bin_bits))
    )
    distinct = np.ones(len(key), dtype=bool)
    distinct[1:] = key[1:] != key[:-1]
    text_of = (key >> np.uint64(32)).astype(np.intp)
    enough = np.bincount(text_of[distinct], minlength=texts) >= MIN_SHINGLES
    group = key >> np.uint64(value_bits)  # (text, bin)
    first = np.ones(len(key), dtype=bool)
    first[1:] = group[1:] != group[:-1]
    minima = np.full((texts, bins_n), -1, dtype=np.int64)  # -1: an empty bin
    minima[text_of[first], (group[first] & np.uint64(bins_n - 1)).astype(np.intp)] = (
        key[first] & np.uint64((1 << value_bits) - 1)
    ).astype(np.int64)
    return minima, enough


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
