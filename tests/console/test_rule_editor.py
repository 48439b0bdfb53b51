"""The rule editor in Chromium: checked as you type, tested, backtested, saved, or only downloaded."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.browserkit import ServiceFactory, call, screenshot

# A rule written in the editor, with one mistake: the condition names a part that does not exist.
PORT_CALL = """\
id: port_call
title: Port call
description: A warship docks in a foreign port.
severity: low
tags: [naval]
parts:
  ship:
    any: [frigate, destroyer, warship]
  docking:
    any: [~dock, port call]
condition: >
  sentence(ship,
           dockings)
examples:
  match:
    - A Russian frigate docked in Havana on Monday.
  no_match:
    - A cruise ship docked in Havana on Monday.
"""
BROKEN_LINE = 13  # "           dockings)": the error is on the condition's second line, not its first


def editor_value(page: Any) -> str:
    return str(page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()"))


def paste(page: Any, text: str) -> None:
    """Replace the editor's text, as a paste would."""
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", text)


def checked(page: Any) -> None:
    # A check compiles the whole rule file and runs every one of its examples (over a thousand
    # in the shipped rules): seconds on a quiet machine, more on a busy two-core one.
    page.locator("body[data-checked]").wait_for(timeout=60_000)


def marker_line(page: Any) -> int | None:
    """The 1-based line carrying an error marker in the gutter, if any."""
    line = page.evaluate(
        """() => {
            const cm = document.querySelector('.CodeMirror').CodeMirror;
            for (let i = 0; i < cm.lineCount(); i++) {
                const info = cm.lineInfo(i);
                if (info.gutterMarkers && info.gutterMarkers['problem-gutter']) return i + 1;
            }
            return null;
        }"""
    )
    return None if line is None else int(line)


def wait_for_alert(base: str, rule: str, timeout: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = call(base, "GET", f"/v1/alerts?rule={rule}")
        if status == 200 and body["items"]:
            return list(body["items"])
        time.sleep(0.2)
    raise AssertionError(f"no {rule} alert within {timeout} s")


def test_a_broken_edit_shows_its_error_at_the_right_line_and_is_not_saved(
    start_service: ServiceFactory, page_of: Callable[..., Any], rules_copy: Path
) -> None:
    service = start_service(roles=("api",))
    original = (rules_copy / "arms_deal.yaml").read_text()
    page = page_of()
    page.goto(service.base + "/rules/arms_deal")
    checked(page)
    assert editor_value(page) == original
    assert page.locator("#editor-status").inner_text().startswith("compiles")
    # Type a mistake at the end of the multi-line condition's last line, as a user would.
    lines = original.splitlines()
    start = lines.index("condition: >")
    last = start + next(i for i, line in enumerate(lines[start + 1 :]) if not line.startswith("  "))
    page.evaluate(
        "(line) => { const cm = document.querySelector('.CodeMirror').CodeMirror;"
        " cm.focus(); cm.setCursor({line, ch: cm.getLine(line).length}); }",
        last,
    )
    page.keyboard.type(" and nowhere")
    checked(page)
    problem = page.locator("#problems li").first
    assert problem.get_attribute("data-line") == str(last + 1)
    assert "nowhere" in problem.inner_text()
    assert marker_line(page) == last + 1
    assert page.locator("#save").is_disabled()
    screenshot(page, "rule-editor-error")
    # Even a Save sent around the page is refused, and the file is untouched.
    status, _ = call(service.base, "PUT", "/v1/rules/arms_deal", {"yaml": editor_value(page)})
    assert status == 422
    assert (rules_copy / "arms_deal.yaml").read_text() == original


def test_a_fixed_edit_is_tested_backtested_saved_and_raises_the_next_matching_article(
    start_service: ServiceFactory, page_of: Callable[..., Any], rules_copy: Path
) -> None:
    service = start_service()
    stored = {
        "source": "wire",
        "title": "Frigate in Havana",
        "body": "A Russian frigate docked in Havana on Monday.",
    }
    assert call(service.base, "POST", "/v1/articles", stored)[0] == 202
    page = page_of()
    page.goto(service.base + "/rules/port_call")
    checked(page)
    paste(page, PORT_CALL)
    checked(page)
    assert marker_line(page) == BROKEN_LINE
    assert "dockings" in page.locator("#problems li").first.inner_text()
    # The fix, typed: remove the stray "s".
    page.evaluate(
        "(line) => { const cm = document.querySelector('.CodeMirror').CodeMirror; cm.focus();"
        " cm.setCursor({line, ch: cm.getLine(line).indexOf(')')}); }",
        BROKEN_LINE - 1,
    )
    page.keyboard.press("Backspace")
    checked(page)
    assert marker_line(page) is None
    assert page.locator("#editor-status").inner_text().startswith("compiles, every example passes")
    assert page.locator("#examples li.pass").count() == 2

    page.locator("#tab-test").click()
    page.locator("#test-title").fill("Port visit")
    page.locator("#test-body").fill("A Chinese destroyer docked in Karachi for a five-day port call.")
    page.locator("#test-run").click()
    page.locator('#test-verdict[data-matched="true"]').wait_for()
    assert {"destroyer", "docked"} <= set(page.locator("#test-result mark").all_inner_texts())
    page.locator("#test-body").fill("A cruise ship docked in Karachi.")
    page.locator("#test-run").click()
    page.locator('#test-verdict[data-matched="false"]').wait_for()
    assert "missing ship" in page.locator("#test-result").inner_text()

    page.locator("#tab-backtest").click()
    page.locator("#backtest-run").click()
    # a backtest compiles the shipped lists twice (a few seconds on a loaded two-core machine)
    page.locator("#backtest-summary").wait_for(timeout=45_000)
    assert "1 added" in page.locator("#backtest-summary").inner_text()
    added = page.locator('.diff-list[data-kind="added"] li')
    assert added.count() == 1
    assert "Frigate in Havana" in added.first.inner_text()
    added.first.click()
    page.locator("#backtest-article").get_by_text("A Russian frigate docked in Havana").wait_for()
    screenshot(page, "rule-editor")

    page.locator("#save").click()
    # saving compiles the whole library again before it swaps the rule in, as a backtest does
    page.locator("body[data-saved]").wait_for(timeout=45_000)
    assert (rules_copy / "port_call.yaml").read_text() == editor_value(page)
    fresh = {"source": "wire", "title": "Port visit", "body": "A British warship docked in Manila on Friday."}
    assert call(service.base, "POST", "/v1/articles", fresh)[0] == 202
    [alert] = wait_for_alert(service.base, "port_call")
    assert alert["article"]["title"] == "Port visit"


def test_a_backtest_can_be_cancelled_while_it_runs(
    start_service: ServiceFactory, page_of: Callable[..., Any]
) -> None:
    service = start_service(roles=("api",))
    for n in range(300):
        body = {"source": "wire", "title": f"Harbour report {n}", "body": f"Ships came and went, report {n}."}
        assert call(service.base, "POST", "/v1/articles", body)[0] == 202
    page = page_of()
    # Slow the stream down so that Cancel lands while it runs.
    page.route("**/v1/rules/backtest", lambda route: (time.sleep(1.5), route.continue_()))
    page.goto(service.base + "/rules/arms_deal")
    checked(page)
    page.locator("#tab-backtest").click()
    page.locator("#backtest-run").click()
    page.locator("#backtest-cancel").click()
    page.locator("#backtest-status").get_by_text("cancelled").wait_for()
    assert page.locator("#backtest-summary").count() == 0
    assert page.locator("#backtest-run").is_enabled()


def test_with_rule_edits_turned_off_the_editor_offers_download_and_copy_instead_of_save(
    start_service: ServiceFactory, page_of: Callable[..., Any], rules_copy: Path
) -> None:
    service = start_service(roles=("api",), rules_read_only=True)
    page = page_of()
    page.goto(service.base + "/rules/leader_summit")
    checked(page)
    assert page.locator("#save").count() == 0
    assert "GEOALERT_RULES_READ_ONLY" in page.locator("#read-only").inner_text()
    page.evaluate(
        "() => { const cm = document.querySelector('.CodeMirror').CodeMirror;"
        " cm.replaceRange('severity: critical', {line: cm.lineCount() - 1, ch: 0}); }"
    )
    with page.expect_download() as download:
        page.locator("#download").click()
    assert download.value.suggested_filename == "leader_summit.yaml"
    assert Path(download.value.path()).read_text() == editor_value(page)
    status, body = call(service.base, "PUT", "/v1/rules/leader_summit", {"yaml": editor_value(page)})
    assert status == 409
    assert "GEOALERT_RULES_READ_ONLY" in body["error"]["message"]
    assert "severity: critical" not in (rules_copy / "leader_summit.yaml").read_text()
