"""The console notifier: one readable line per alert, then the evidence a person needs."""

from typing import Any

from notifiers.console import format_alert


def evidence(part: str, text: str, field: str, start: int, snippet: str) -> dict[str, Any]:
    return {
        "part": part,
        "text": text,
        "field": field,
        "start": start,
        "end": start + len(text),
        "snippet": snippet,
    }


def alert(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": {"id": "leader_summit", "severity": "high"},
        "article": {"title": "Leaders meet", "published": "2025-05-07T10:00:00+00:00", "source": "wire"},
        "evidence": list(items),
    }


def test_the_first_line_names_severity_rule_title_date_and_source() -> None:
    first = format_alert(alert()).splitlines()[0]
    assert first == "ALERT HIGH     leader_summit: 'Leaders meet' [2025-05-07] wire"


def test_evidence_a_summary_repeats_from_the_body_is_shown_once() -> None:
    text = format_alert(
        alert(
            evidence("meeting", "meet", "summary", 10, "…leaders meet in Berlin…"),
            evidence("meeting", "meet", "body", 10, "…leaders meet in Berlin…"),
        )
    )
    assert text.splitlines()[1:] == ["    meeting: 'meet' (summary 10-14) …leaders meet in Berlin…"]


def test_long_evidence_is_cut_to_a_few_lines_and_says_how_many_more() -> None:
    items = [evidence("country", f"C{n}", "body", n * 10, f"…country C{n}…") for n in range(12)]
    lines = format_alert(alert(*items), max_evidence=8).splitlines()
    assert len(lines) == 1 + 8 + 1
    assert lines[-1] == "    (and 4 more)"
