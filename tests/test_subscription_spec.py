"""The subscription spec: one model for the file and the API, snooze and mute, problems at the entry's own line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifiers.webhook import WebhookTarget
from service.cli import main
from service.errors import ConfigFileError
from service.models import RuleRef
from service.subscriptions import Subscription, load_subscriptions_file
from service.subscriptions.store import NameTaken
from tests.deliverykit import Kit

SUMMIT = RuleRef(id="leader_summit", title="Leaders' summit", severity="high", tags=["diplomacy"])
ARMS = RuleRef(id="arms_deal", title="Arms deal", severity="high", tags=["defence", "arms"])
NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)

FILE = """\
# Subscriptions of the desk.
# One entry per team.

subscriptions:
  - name: terminal
    console: {}

  - name: ops
    rules: [leader_summit]
    webhook:
      url: https://example.org/hook
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        load_subscriptions_file(path)
    return [str(p) for p in caught.value.problems]


def test_a_webhook_without_a_secret_is_reported_at_its_entry_with_a_command_that_works(
    tmp_path: Path,
) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(FILE)

    (problem,) = problems(path)

    assert problem.startswith(f"{path}:10:5: subscription 'ops': webhook.secret is required")
    assert "./dev geoalert subscriptions new-secret" in problem


def test_the_new_secret_command_prints_a_secret_the_file_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["subscriptions", "new-secret"]) == 0
    secret = capsys.readouterr().out.strip()
    path = tmp_path / "subscriptions.yaml"
    path.write_text(FILE + f"      secret: '{secret}'\n")

    subs = load_subscriptions_file(path)

    assert [s.channel for s in subs] == ["console", "webhook"]
    assert subs[1].webhook is not None
    assert subs[1].webhook.secret == secret


def test_an_entry_without_a_channel_is_reported_at_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(FILE.replace("    webhook:\n      url: https://example.org/hook\n", ""))

    assert problems(path) == [
        f"{path}:8:5: subscriptions.1: needs exactly one channel of console, webhook, email, apprise; got none"
    ]


def test_two_subscriptions_may_not_share_a_name(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text(
        "subscriptions:\n  - name: t\n    console: {}\n  - name: t\n    id: other\n    console: {}\n"
    )

    assert problems(path) == [f"{path}:4:5: two subscriptions share the name 't' (first at line 2)"]


def test_a_misspelt_channel_key_gets_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions.yaml"
    path.write_text("subscriptions:\n  - name: t\n    console: {}\n    apprse: {urls: ['json://x']}\n")

    assert f"{path}:4:5: unknown key 'apprse', did you mean 'apprise'?" in problems(path)


def test_a_snoozed_subscription_wants_nothing_until_its_time() -> None:
    sub = Subscription(name="desk", console={}, snooze_until=NOW + timedelta(hours=2))

    assert not sub.wants(SUMMIT, now=NOW)
    assert not sub.wants(SUMMIT, now=NOW + timedelta(hours=1, minutes=59))
    assert sub.wants(SUMMIT, now=NOW + timedelta(hours=2))


def test_a_snooze_time_needs_a_zone() -> None:
    with pytest.raises(ValueError, match="give a time zone"):
        Subscription(name="desk", console={}, snooze_until=datetime(2030, 1, 1))


def test_a_muted_rule_or_tag_is_left_out_whatever_rules_say() -> None:
    by_id = Subscription(name="desk", console={}, rules=["*"], muted_rules=["arms_deal"])
    by_tag = Subscription(name="desk", console={}, rules=["*"], muted_rules=["tag:defence"])

    assert by_id.wants(SUMMIT)
    assert not by_id.wants(ARMS)
    assert by_tag.wants(SUMMIT)
    assert not by_tag.wants(ARMS)


def test_the_written_form_round_trips_through_the_model() -> None:
    secret = "whsec_" + "A" * 44
    sub = Subscription(name="ops", webhook=WebhookTarget(url="https://example.org/h", secret=secret))

    written = sub.written()

    assert written["webhook"] == {"url": "https://example.org/h", "secret": secret}
    assert "target" not in written
    assert Subscription.model_validate(written) == sub.model_copy(update={"id": "ops"})


def test_a_record_stored_by_the_previous_model_still_reads() -> None:
    # the old model kept every channel key, the unused ones as null
    old = (
        '{"id":"sub_1","name":"ops","rules":["*"],"min_severity":"info","enabled":true,"source":"api",'
        '"console":null,"webhook":{"url":"https://example.org/h","secret":"whsec_' + "A" * 44 + '"},'
        '"email":null,"throttle":null,"digest":"immediate","disabled_reason":null,'
        '"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}'
    )

    sub = Subscription.model_validate_json(old)

    assert sub.channel == "webhook"
    assert sub.webhook is not None
    assert sub.webhook.url == "https://example.org/h"
    assert Subscription.model_validate_json(sub.stored()) == sub


def test_the_json_schema_shows_the_written_form_with_one_key_per_channel() -> None:
    schema = Subscription.model_json_schema()

    assert "target" not in schema["properties"]
    assert {"console", "webhook", "email", "apprise"} <= set(schema["properties"])
    assert schema["oneOf"] == [{"required": [c]} for c in ("console", "webhook", "email", "apprise")]
    assert "kind" not in str(schema["$defs"]["WebhookChannel"])


async def test_two_writers_creating_one_name_at_once_store_one_subscription(kit: Kit) -> None:
    subs = [Subscription(id=f"sub_{n}", name="race", email={"to": ["a@example.org"]}) for n in range(4)]

    results = await asyncio.gather(*[kit.store.create(s) for s in subs], return_exceptions=True)

    assert sum(isinstance(r, Subscription) for r in results) == 1
    assert all(isinstance(r, NameTaken) for r in results if not isinstance(r, Subscription))
    assert [s.name for s in (await kit.store.snapshot()).subscriptions] == ["race"]


async def test_a_rename_onto_a_taken_name_is_refused_by_the_store(kit: Kit) -> None:
    await kit.subscribe(name="desk", email={"to": ["a@example.org"]})
    other = await kit.subscribe(name="ops", email={"to": ["a@example.org"]})

    with pytest.raises(NameTaken, match="already called 'desk'"):
        await kit.store.update(other.id, lambda s: s.model_copy(update={"name": "desk"}))
