"""Which language an article is in, when its feed does not say.

Two cheap signals, no model: the script (Hangul is Korean, kana Japanese,
Arabic letters Arabic...) and, for Latin and Cyrillic text, how many of the
commonest short words of each language occur. It answers only when the text
is long enough and one language clearly leads; otherwise None, which is better
than a wrong guess.
"""

from __future__ import annotations

import functools
import re

# Scripts that (nearly) name one language. Han alone is Chinese only when no kana is present.
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ko", "\uac00-\ud7af\u1100-\u11ff"),
    ("ja", "\u3040-\u30ff"),
    ("zh", "\u4e00-\u9fff"),
    ("ar", "\u0600-\u06ff"),
    ("he", "\u0590-\u05ff"),
    ("el", "\u0370-\u03ff"),
    ("th", "\u0e00-\u0e7f"),
    ("hi", "\u0900-\u097f"),
)
_SCRIPT_RES = tuple((lang, re.compile(f"[{chars}]")) for lang, chars in _SCRIPTS)

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the of and to in is that for on with as was by at from it said his are has have be this will",
        "fr": "le la les des et en du un une est que pour dans qui sur au pas par avec ont sont été aux",
        "es": "el la los las de del y en que un una por con para es se al lo como más fue su sus",
        "de": "der die das und den des dem ist nicht mit sich auf für ein eine einer im zu von auch wird",
        "it": "il lo la gli le di del della che è per con non una un sono nel alla anche più dei",
        "pt": "o os a as de do da dos das que em um uma para com não por mais foi são ao pelo",
        "nl": "de het een en van in is dat op te met voor niet zijn aan ook door bij om",
        "ru": "и в не на что с по как это из за от его к но для был она так же он до",
        "uk": "і в не на що з по як це із за від його до але для був вона та він також",
    }.items()
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_MIN_WORDS = 8


def primary_subtag(tag: str | None) -> str | None:
    """``en-US`` -> ``en``; None for anything that is not a language tag."""
    if not tag:
        return None
    return _primary_subtag(tag)


# Asked for every item, mostly with the feed's one tag: a few tags cover nearly all calls.
@functools.lru_cache(maxsize=256)
def _primary_subtag(tag: str) -> str | None:
    head = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return head if re.fullmatch(r"[a-z]{2,3}", head) else None


def detect_language(text: str) -> str | None:
    sample = text[:4000]
    letters = sum(1 for c in sample if c.isalpha())
    if letters < 20:
        return None
    for lang, pattern in _SCRIPT_RES:
        if len(pattern.findall(sample)) > letters * 0.3:
            if lang == "zh" and _SCRIPT_RES[1][1].search(sample):
                return "ja"
            return lang
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < _MIN_WORDS:
        return None
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    # Demand both some density and a clear lead: short mixed texts stay unknown.
    if top >= max(3, len(words) * 0.08) and top >= second * 1.5:
        return best
    return None
