"""The console notifier: one line that says what happened, then the most telling evidence in a few lines."""

import io
import re
from pathlib import Path
from typing import Any

import pytest

from notifiers.base import Notification
from notifiers.console import ConsoleNotifier, ConsoleTarget, format_alert, use_colour
from service.app import create_app
from tests.conftest import ROOT, SettingsFactory
from tests.helpers import running, wait_until


def evidence(part: str, text: str, field: str, start: int, snippet: str, **more: Any) -> dict[str, Any]:
    return {
        "part": part,
        "text": text,
        "field": field,
        "start": start,
        "end": start + len(text),
        "snippet": snippet,
        **more,
    }


def alert(*items: dict[str, Any], severity: str = "high") -> dict[str, Any]:
    return {
        "rule": {"id": "leader_summit", "severity": severity},
        "article": {"title": "Leaders meet", "published": "2025-05-07T10:00:00+00:00", "source": "wire"},
        "evidence": list(items),
    }


TRANSFER = "…to discuss with American officials. Pyongyang will send shells to Russia for its war in Ukraine, they said…"


def transfer_alert() -> dict[str, Any]:
    base = 100  # the snippet's first character stands at offset 100 of the body

    def at(text: str, nth: int = 0) -> int:
        return base + [m.start() for m in re.finditer(re.escape(text), TRANSFER)][nth]

    return alert(
        evidence("country", "American", "body", at("American"), TRANSFER, entity="US"),
        evidence("transfer", "send", "body", at("send"), TRANSFER),
        evidence("weapon", "shells", "body", at("shells"), TRANSFER),
        evidence("country", "Russia", "body", at("Russia"), TRANSFER, entity="RU"),
        evidence("country", "Ukraine", "body", at("Ukraine"), TRANSFER, entity="UA"),
    )


def test_the_first_line_names_severity_rule_title_date_and_source() -> None:
    first = format_alert(alert()).splitlines()[0]
    assert first == "ALERT HIGH     leader_summit: 'Leaders meet' [2025-05-07] wire"


def test_the_passage_where_the_parts_meet_comes_first_and_a_far_demonym_is_not_a_party() -> None:
    lines = format_alert(transfer_alert()).splitlines()
    assert lines[1].startswith("    transfer 'send', weapon 'shells', country 'Russia' (body ")
    assert "[send] [shells] to [Russia] for its war in Ukraine" in lines[2]
    assert "American" not in lines[1]
    assert lines[3] == "    (and 2 more in the webhook, email and API: country ×2)"
    assert len(lines) <= 4


def test_a_summit_names_both_leaders_by_name_around_the_meeting() -> None:
    text = "…said that North Korean leader Kim Jong Un plans to meet Russian President Vladimir Putin soon…"

    def at(word: str) -> int:
        return text.index(word)

    lines = format_alert(
        alert(
            evidence(
                "leaders",
                "North Korean leader",
                "body",
                at("North"),
                text,
                entity="kim",
                term="North Korean leader",
            ),
            evidence("leaders", "Kim Jong Un", "body", at("Kim"), text, entity="kim", term="Kim Jong Un"),
            evidence("meeting", "meet", "body", at("meet "), text, term="~meet"),
            evidence(
                "leaders",
                "Russian President",
                "body",
                at("Russian"),
                text,
                entity="putin",
                term="Russian president",
            ),
            evidence(
                "leaders",
                "Vladimir Putin",
                "body",
                at("Vladimir"),
                text,
                entity="putin",
                term="Vladimir Putin",
            ),
        )
    ).splitlines()
    assert lines[1].startswith("    leaders 'Kim Jong Un', meeting 'meet', leaders 'Vladimir Putin' (body ")


def test_evidence_a_summary_repeats_from_the_body_is_counted_not_shown_twice() -> None:
    lines = format_alert(
        alert(
            evidence("meeting", "meet", "summary", 10, "…leaders meet in Berlin…"),
            evidence("meeting", "meet", "body", 10, "…leaders meet in Berlin…"),
        )
    ).splitlines()
    assert lines[1:3] == ["    meeting 'meet' (summary 10-14)", "    …leaders [meet] in Berlin…"]


def test_colour_marks_severity_and_words_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coloured = format_alert(transfer_alert(), colour=True)
    assert "\033[1;31mHIGH\033[0m" in coloured
    assert "\033[1msend\033[22m" in coloured

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Tty())
    assert not use_colour(io.StringIO())  # a pipe or a file: plain text
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Tty())


async def test_the_notifier_writes_plain_text_to_a_pipe() -> None:
    out = io.StringIO()
    await ConsoleNotifier(out).send(Notification("d1", transfer_alert(), 1), ConsoleTarget())
    assert "\033" not in out.getvalue()
    assert out.getvalue().startswith("ALERT HIGH     leader_summit:")


def _readme_sample() -> set[str]:
    text = (ROOT / "README.md").read_text()
    start = text.index("```\nALERT ") + 4
    block = text[start : text.index("```", start)]
    return {"ALERT " + b.rstrip("\n") for b in block.split("ALERT ") if b}


async def test_the_readme_shows_what_the_seed_really_prints(
    make_settings: SettingsFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feeds.yaml").write_text(
        f"feeds:\n  - name: seed\n    url: {ROOT / 'seeds/feed.xml'}\n    interval: 3600\n"
    )
    (tmp_path / "subscriptions.yaml").write_text((ROOT / "seeds/subscriptions.yaml").read_text())
    printed: list[str] = []

    def both() -> bool:
        printed.append(capsys.readouterr().out)
        return "".join(printed).count("ALERT ") >= 2

    async with running(
        create_app(make_settings(poll_startup_spread=0), roles=["poller", "matcher", "dispatcher"])
    ):
        await wait_until(both, timeout=20)
    out = "".join(printed)
    blocks = {"ALERT " + b.rstrip("\n") for b in out[out.index("ALERT ") :].split("ALERT ") if b}
    assert blocks == _readme_sample()
