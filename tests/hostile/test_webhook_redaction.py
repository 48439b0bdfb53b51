"""Issue 10, point 14: webhook URLs are credentials (Slack, Teams, Discord): reads show them to the token only."""

from __future__ import annotations

from pathlib import Path

from tests.apikit import ApiFactory

HOOK = "http://127.0.0.1:9/services/T0001/B0002/SECRET-HOOK-TOKEN?sig=SECRET-SIG"


async def test_webhook_urls_are_redacted_in_reads_without_the_token(
    start_api: ApiFactory, small_rules: Path, tmp_path: Path
) -> None:
    subs = tmp_path / "subscriptions.yaml"
    subs.write_text(
        f"subscriptions:\n  - name: from-file\n    webhook: {{url: '{HOOK}', secret: whsec_eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=}}\n"
    )
    api = await start_api(rules_dir=small_rules, subscriptions_file=subs)
    status, created = await api.call("POST", "/v1/subscriptions", {"name": "ops", "webhook": {"url": HOOK}})
    assert status == 201
    assert created["webhook"]["url"] == HOOK  # the writer, who holds the token, sees what it wrote

    _, public_list = await api.call("GET", "/v1/subscriptions", auth=False)
    _, public_one = await api.call("GET", f"/v1/subscriptions/{created['id']}", auth=False)
    _, private_list = await api.call("GET", "/v1/subscriptions")

    assert "SECRET" not in str(public_list)
    assert "SECRET" not in str(public_one)
    assert {s["webhook"]["url"] for s in public_list["items"]} == {"http://127.0.0.1:9/***"}
    assert {s["webhook"]["url"] for s in private_list["items"]} == {HOOK}
