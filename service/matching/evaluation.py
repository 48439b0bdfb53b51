"""Measure rules against a labelled set of articles: precision, recall, F1 per rule.

The labelled set is a YAML list of articles, each with the ``labels`` (rule
ids) a careful analyst gave it. Scores are kept apart for English and for
other languages, since the rules' vocabulary is mostly English.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from service.matching.ruleset import RuleSet
from service.models import Article


class LabelledArticle(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(validation_alias=AliasChoices("id", "guid"))
    title: str = ""
    summary: str = ""
    body: str = ""
    url: str | None = None
    source: str | None = None
    published: dt.datetime | None = None
    language: str | None = None
    labels: list[str] = Field(default_factory=list)

    def article(self, headline: str | None = None) -> Article:
        """The article; with ``headline``, under that headline instead of its own."""
        return Article(
            id=self.id,
            title=self.title if headline is None else headline,
            summary=self.summary,
            body=self.body,
            url=self.url,
            source=self.source,
            published=self.published,
            language=self.language,
        )


class DatasetError(Exception):
    """The labelled set could not be read."""


def load_dataset(path: Path) -> list[LabelledArticle]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return TypeAdapter(list[LabelledArticle]).validate_python(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DatasetError(f"{path}: {exc}") from exc


@dataclass
class Score:
    articles: int = 0
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        fired = self.true_positives + self.false_positives
        return self.true_positives / fired if fired else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "articles": self.articles,
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


GROUPS = ("en", "non_en", "all")
# A headline that says nothing: how well a rule reads the body when the headline gives nothing away
NEUTRAL_HEADLINE = "World news briefing"


def unlabelled(rules: RuleSet, dataset: list[LabelledArticle]) -> list[str]:
    """Rules no article of the dataset is labelled with: the dataset cannot score them."""
    labels = {label for item in dataset for label in item.labels}
    return [info.id for info in rules.rules if info.id not in labels]


def evaluate(
    rules: RuleSet, dataset: list[LabelledArticle], *, headline: str | None = None
) -> dict[str, dict[str, Score]]:
    """Scores of every rule whose id is used as a label in the dataset, by language group; with
    ``headline``, every article is read under that headline instead of its own."""
    labels = {label for item in dataset for label in item.labels}
    scored = [info.id for info in rules.rules if info.id in labels]
    scores = {rule: {group: Score() for group in GROUPS} for rule in scored}
    for item in dataset:
        fired = {match.rule for match in rules.match(item.article(headline))}
        groups = ("en" if (item.language or "en") == "en" else "non_en", "all")
        for rule in scored:
            for group in groups:
                score = scores[rule][group]
                score.articles += 1
                expected, got = rule in item.labels, rule in fired
                if expected and got:
                    score.true_positives += 1
                elif got:
                    score.false_positives += 1
                    score.false_alarms.append(f"{item.id} {item.title}")
                elif expected:
                    score.false_negatives += 1
                    score.misses.append(f"{item.id} {item.title}")
    return scores
