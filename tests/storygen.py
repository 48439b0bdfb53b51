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


# Wire copy: one template, filled in with other leaders, cities and dates, and
# a paragraph of the event's own detail. Distinct events that share much of
# their wording, as agency reports of a summit season do.
LEADERS = (
    "President Macron", "Chancellor Scholz", "Prime Minister Modi", "President Lula", "President Ramaphosa",
    "Prime Minister Kishida", "President Erdogan", "President Yoon", "Prime Minister Albanese",
    "President Milei", "Prime Minister Meloni", "President Sheinbaum",
)  # fmt: skip
CITIES = (
    "Geneva", "Nairobi", "Jakarta", "Lima", "Oslo", "Hanoi", "Rabat", "Doha", "Warsaw", "Santiago",
    "Accra", "Manila", "Tbilisi", "Astana", "Lisbon", "Bogota", "Dhaka", "Tunis", "Riga", "Quito",
)  # fmt: skip
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October")
FILLER = [
    "trade",
    "tariffs",
    "grain",
    "shipments",
    "port",
    "access",
    "energy",
    "prices",
    "pipeline",
    "routes",
    "fishing",
    "rights",
    "visa",
    "rules",
    "student",
    "exchanges",
    "border",
    "crossings",
    "water",
    "sharing",
    "debt",
    "relief",
    "vaccine",
    "supply",
    "drought",
    "aid",
    "railway",
    "financing",
    "satellite",
    "launches",
    "coastal",
    "patrols",
    "wildfire",
    "response",
    "copper",
    "exports",
    "migrant",
    "returns",
    "currency",
    "swaps",
    "airline",
    "routes",
    "refinery",
    "upgrades",
    "teacher",
    "training",
    "cyber",
    "defence",
    "lithium",
    "mining",
    "customs",
    "software",
    "cattle",
    "exports",
    "bridge",
    "repairs",
    "election",
    "observers",
    "flood",
    "barriers",
    "tax",
    "treaties",
]

SYLLABLES = ("", "s", "ing", "ed", "er", "ward", "line", "work", "side", "point", "field", "land")


def wire_template_reports(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` distinct summit reports (title, body) written on one agency template."""
    rng = random.Random(seed)
    reports = []
    for i in range(n):
        a, b = rng.sample(LEADERS, 2)
        city, month, day = rng.choice(CITIES), rng.choice(MONTHS), rng.randrange(1, 29)
        topics = [" ".join(rng.choice(FILLER) + rng.choice(SYLLABLES) for _ in range(22)) for _ in range(5)]
        title = f"{a} and {b} meet in {city}"
        body = (
            f"{city.upper()}, {month} {day} (Wire) - {a} and {b} met in {city} on {month} {day} for talks "
            "that officials described as frank and constructive, according to a joint statement released "
            "after the meeting.\n"
            f"The two leaders discussed {topics[0]}, and also {topics[1]}, aides said, "
            f"while delegations worked on {topics[2]}.\n"
            f"Report {i}: negotiators in {city} added {topics[3]} to the agenda and left {topics[4]} for later.\n"
            "The leaders agreed to meet again before the end of the year, the statement said. "
            "(Reporting by the Wire bureau; editing by the world desk.)"
        )
        reports.append((title, body))
    return reports
