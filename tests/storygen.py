"""Synthetic rewrites: the same story as another outlet would run it.

An outlet rewriting wire copy changes the headline, drops or moves a
paragraph, swaps some words, and adds its own sign-off. ``rewrite`` does all
of that, deterministically for a seed.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures"

SYNONYMS = {
    "said": "stated", "told": "informed", "leader": "head", "leaders": "heads", "talks": "discussions",
    "meeting": "encounter", "first": "initial", "would": "will", "expected": "due", "about": "around",
    "agreed": "consented", "officials": "authorities", "visit": "trip", "country": "nation",
    "on Monday": "Monday", "on Tuesday": "Tuesday", "on Thursday": "Thursday", "on Sunday": "Sunday",
}  # fmt: skip
SIGN_OFFS = (
    "(Reporting by our correspondents; editing by the news desk.)",
    "This article was updated with further details.",
    "Follow our live coverage for the latest developments.",
)


def load_stories() -> list[dict[str, Any]]:
    stories: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "stories.yaml").read_text(encoding="utf-8"))
    return stories


def rewrite(title: str, body: str, seed: int) -> tuple[str, str]:
    rng = random.Random(seed)
    paragraphs = [p for p in body.split("\n") if p.strip()]
    if len(paragraphs) > 3:
        paragraphs.pop(rng.randrange(1, len(paragraphs)))  # keep the lead
        i = rng.randrange(1, len(paragraphs) - 1)
        paragraphs[i], paragraphs[i + 1] = paragraphs[i + 1], paragraphs[i]
    text = "\n\n".join(paragraphs)
    for word, other in SYNONYMS.items():
        if rng.random() < 0.6:
            text = text.replace(f" {word} ", f" {other} ")
    words = title.split()
    cut = rng.randrange(0, 3)
    new_title = " ".join(words[cut:] if cut else words[::-1][: len(words)])
    return new_title, f"{text}\n\n{rng.choice(SIGN_OFFS)}"
