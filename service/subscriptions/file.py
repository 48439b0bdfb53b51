"""The declarative subscriptions file: read-only to the API, reloaded when it changes.

Problems are reported at the entry they belong to (its ``- name:`` line),
never at the ``subscriptions:`` key above them all.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from service.errors import ConfigFileError, FileProblem
from service.subscriptions.model import Subscription
from service.yamlfile import read_marked, validate

# Works outside the project's virtual environment too (the command `geoalert` is only on its PATH).
NEW_SECRET_HINT = "generate one: ./dev geoalert subscriptions new-secret"


class SubscriptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscriptions: list[Subscription] = Field(default_factory=list)


def load_subscriptions_file(path: Path) -> list[Subscription]:
    if not path.exists():
        return []
    doc = read_marked(path)
    if doc.data is None:
        doc.data = {}
    subs = validate(doc, SubscriptionsFile).subscriptions
    problems: list[FileProblem] = []
    first_id: dict[str, int] = {}
    first_name: dict[str, int] = {}
    for i, sub in enumerate(subs):
        here = ("subscriptions", i)
        sub.source = "file"
        if sub.id in first_id:
            line = doc.locate(("subscriptions", first_id[sub.id])).line
            problems.append(
                doc.problem(here, f"two subscriptions share the id {sub.id!r} (first at line {line})")
            )
        elif sub.name in first_name:
            line = doc.locate(("subscriptions", first_name[sub.name])).line
            problems.append(
                doc.problem(here, f"two subscriptions share the name {sub.name!r} (first at line {line})")
            )
        first_id.setdefault(sub.id, i)
        first_name.setdefault(sub.name, i)
        if sub.webhook is not None and sub.webhook.secret is None:
            # Nothing could sign its deliveries: refuse the file now rather than dead-letter later.
            problems.append(
                doc.problem(
                    (*here, "webhook"),
                    f"subscription {sub.id!r}: webhook.secret is required in the file ({NEW_SECRET_HINT})",
                    at_key=True,
                )
            )
    if problems:
        raise ConfigFileError(problems)
    return subs
