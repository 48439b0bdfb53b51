"""Synthetic news for load benchmarks: mostly ordinary news, some geopolitical events.

Deterministic (seeded), so two runs push the same articles. The event
templates name real office-holders so that the shipped rules fire on them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LEADER_PAIRS = [
    ("U.S. President Donald Trump", "Chinese President Xi Jinping", "Busan"),
    ("French President Emmanuel Macron", "German Chancellor Friedrich Merz", "Berlin"),
    ("Indian Prime Minister Narendra Modi", "Japanese Prime Minister Sanae Takaichi", "Tokyo"),
    ("Brazilian President Luiz Inacio Lula da Silva", "South African President Cyril Ramaphosa", "Brasilia"),
    ("Turkish President Recep Tayyip Erdogan", "Ukrainian President Volodymyr Zelensky", "Ankara"),
    ("British Prime Minister Keir Starmer", "Canadian Prime Minister Mark Carney", "Ottawa"),
]
ARMS = [
    ("The United States", "Poland", "Patriot air defence batteries"),
    ("South Korea", "Poland", "K2 battle tanks"),
    ("Germany", "Ukraine", "IRIS-T air defence systems"),
    ("France", "India", "Rafale fighter jets"),
    ("Turkey", "Indonesia", "Bayraktar TB2 drones"),
]
FILLER_TOPICS = [
    ("Central bank holds rates steady as inflation cools", "economy"),
    ("Storm brings heavy rain and flooding to coastal towns", "weather"),
    ("Champions League: late goal sends holders through", "sport"),
    ("Tech company unveils new smartphone with longer battery life", "technology"),
    ("City council approves budget for new tram line", "local"),
    ("Museum reopens after two-year renovation", "culture"),
    ("Researchers report progress on malaria vaccine", "science"),
    ("Airline adds routes as summer travel demand grows", "business"),
]
SENTENCES = [
    "Officials said the details would be published later this week.",
    "Analysts expect the decision to shape the coming months.",
    "The announcement followed weeks of speculation in local media.",
    "Critics said more needed to be done, while supporters welcomed the move.",
    "Figures released on Monday showed a mixed picture across the region.",
    "The plan still requires approval from parliament.",
]


@dataclass(frozen=True)
class Generated:
    id: str
    title: str
    body: str
    kind: str  # summit | arms | filler


def summit(rng: random.Random) -> tuple[str, str]:
    a, b, city = rng.choice(LEADER_PAIRS)
    title = f"{a.split()[-1]} and {b.split()[-1]} to meet in {city} next week"
    body = (
        f"{a} will meet {b} in {city} next week for talks on trade and security, officials said on Monday. "
        f"The two leaders are expected to hold a joint news conference after the summit. "
        + " ".join(rng.sample(SENTENCES, 3))
    )
    return title, body


def arms(rng: random.Random) -> tuple[str, str]:
    seller, buyer, system = rng.choice(ARMS)
    title = f"{buyer} signs deal to buy {system} from {seller}"
    body = (
        f"{buyer} signed a contract on Tuesday to buy {system} from {seller}, the defence ministry said, "
        f"with the first deliveries expected next year. " + " ".join(rng.sample(SENTENCES, 3))
    )
    return title, body


def filler(rng: random.Random) -> tuple[str, str]:
    title, _ = rng.choice(FILLER_TOPICS)
    return title, " ".join(rng.sample(SENTENCES, 4))


def generate(count: int, *, event_share: float = 0.05, seed: int = 7, run: str = "r") -> list[Generated]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        roll = rng.random()
        if roll < event_share / 2:
            kind, (title, body) = "summit", summit(rng)
        elif roll < event_share:
            kind, (title, body) = "arms", arms(rng)
        else:
            kind, (title, body) = "filler", filler(rng)
        # A unique marker keeps each article its own story (no near-duplicate merging).
        out.append(
            Generated(f"{run}-{n}", f"{title} ({run}-{n})", f"{body} Ref {run}-{n}-{rng.random()}.", kind)
        )
    return out
