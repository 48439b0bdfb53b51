"""``/v1/subscriptions``: subscribe, read, change and delete over HTTP, with errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.api.middlewares import listen_host
from tests.apikit import Api, ApiFactory
from tests.conftest import SettingsFactory
from tests.helpers import WebhookReceiver

WEBHOOK = {"name": "ops", "rules": ["leader_summit"], "webhook": {"url": "http://127.0.0.1:9/hook"}}


async def test_a_webhook_subscription_is_created_with_its_signing_secret_shown_once(api: Api) -> None:
    status, created = await api.call("POST", "/v1/subscriptions", WEBHOOK)

    assert status == 201
    assert created["id"].startswith("sub_")
    assert created["secret"].startswith("whsec_")
    assert created["channel"] == "webhook"
    assert created["read_only"] is False
    status, shown = await api.call("GET", f"/v1/subscriptions/{created['id']}")
    assert status == 200
    assert "secret" not in shown
    assert shown["webhook"] == {"url": "http://127.0.0.1:9/hook"}


async def test_an_email_digest_subscription_with_a_throttle(api: Api) -> None:
    body = {
        "name": "desk",
        "rules": ["tag:diplomacy", "arms_deal"],
        "min_severity": "high",
        "email": {"to": ["desk@example.org"]},
        "digest": "daily",
        "throttle": {"period": 3600, "per": "rule"},
    }
    status, created = await api.call("POST", "/v1/subscriptions", body)

    assert status == 201
    assert created["secret"] is None
    assert created["digest"] == "daily"
    assert created["throttle"] == {"period": 3600, "per": "rule"}


async def test_file_subscriptions_are_listed_read_only_and_cannot_be_changed(
    start_api: ApiFactory, tmp_path: Path
) -> None:
    (tmp_path / "subscriptions.yaml").write_text("subscriptions:\n  - name: terminal\n    console: {}\n")
    api = await start_api()
    await api.call("POST", "/v1/subscriptions", WEBHOOK)

    status, listed = await api.call("GET", "/v1/subscriptions")

    assert status == 200
    by_name = {s["name"]: s for s in listed["items"]}
    assert by_name["terminal"]["read_only"] is True
    assert by_name["ops"]["read_only"] is False
    for method in ("PATCH", "DELETE"):
        status, error = await api.call(method, "/v1/subscriptions/terminal", {"enabled": False})
        assert status == 409
        assert "subscriptions.yaml" in error["error"]["message"]
        assert "read-only" in error["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"name": "x", "rules": ["*"]}, "body", "exactly one channel"),
        ({**WEBHOOK, "webhook": {"url": "ftp://example.org/x"}}, "webhook.url", "http:// or https://"),
        (
            {**WEBHOOK, "rules": ["leader_summit", "no_such_rule"]},
            "rules[1]",
            "no rule has the id 'no_such_rule'",
        ),
        ({**WEBHOOK, "rules": ["bad rule!"]}, "rules", "is not a rule id"),
        ({"name": "x", "email": {"to": ["not-an-address"]}}, "email.to", "not an email address"),
        ({**WEBHOOK, "digest": "hourly"}, "body", "only email subscriptions"),
        ({**WEBHOOK, "min_severity": "apocalyptic"}, "min_severity", "Input should be"),
        ({**WEBHOOK, "colour": "red"}, "colour", "Extra inputs are not permitted"),
        (
            {**WEBHOOK, "webhook": {"url": "http://127.0.0.1/", "secret": "whsec_c2hvcnQ="}},
            "webhook.secret",
            "24 to 64",
        ),
        ({**WEBHOOK, "throttle": {"period": 0}}, "throttle.period", "greater than or equal to 1"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    api: Api, body: dict[str, object], field: str, says: str
) -> None:
    status, error = await api.call("POST", "/v1/subscriptions", body)

    assert status == 422
    fields = error["error"]["fields"]
    assert any(f["field"] == field and says in f["message"] for f in fields), fields


async def test_a_webhook_into_the_local_network_is_refused_by_default(start_api: ApiFactory) -> None:
    api = await start_api(webhook_allow_cidrs="")
    for url, says in [
        ("http://127.0.0.1:8080/", "127.0.0.1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://localhost/", "resolves to 127.0.0.1 is loopback"),
    ]:
        status, error = await api.call("POST", "/v1/subscriptions", {**WEBHOOK, "webhook": {"url": url}})
        assert status == 422
        assert error["error"]["fields"][0]["field"] == "webhook.url"
        assert says in error["error"]["fields"][0]["message"]


async def test_a_subscription_is_changed_field_by_field(api: Api, receiver: WebhookReceiver) -> None:
    _, created = await api.call("POST", "/v1/subscriptions", WEBHOOK)
    path = f"/v1/subscriptions/{created['id']}"

    status, changed = await api.call("PATCH", path, {"rules": ["arms_deal"], "min_severity": "critical"})
    assert status == 200
    assert changed["rules"] == ["arms_deal"]
    assert changed["min_severity"] == "critical"
    assert changed["name"] == "ops"
    assert changed["secret"] is None  # unchanged, so not shown

    status, moved = await api.call("PATCH", path, {"webhook": {"url": receiver.url}})
    assert moved["webhook"] == {"url": receiver.url}
    assert moved["secret"] is None  # the secret stays when only the URL moves

    status, switched = await api.call("PATCH", path, {"email": {"to": ["a@example.org"]}})
    assert switched["channel"] == "email"
    assert switched["webhook"] is None

    status, error = await api.call("PATCH", path, {"digest": "weekly"})
    assert status == 422
    assert error["error"]["fields"][0]["field"] == "digest"


async def test_a_deleted_subscription_is_gone(api: Api) -> None:
    _, created = await api.call("POST", "/v1/subscriptions", WEBHOOK)
    path = f"/v1/subscriptions/{created['id']}"

    assert (await api.call("DELETE", path))[0] == 204
    status, error = await api.call("GET", path)
    assert status == 404
    assert created["id"] in error["error"]["message"]
    assert (await api.call("DELETE", path))[0] == 404


async def test_writes_need_the_bearer_token_and_reads_do_not_by_default(api: Api) -> None:
    status, error = await api.call("POST", "/v1/subscriptions", WEBHOOK, auth=False)
    assert status == 401
    assert "Bearer" in error["error"]["message"]

    status, _ = await api.call(
        "POST", "/v1/subscriptions", WEBHOOK, auth=False, headers={"Authorization": "Bearer nope"}
    )
    assert status == 401
    assert (await api.call("GET", "/v1/subscriptions", auth=False))[0] == 200


async def test_reads_need_the_token_when_so_configured(start_api: ApiFactory) -> None:
    api = await start_api(api_auth_reads=True)
    assert (await api.call("GET", "/v1/subscriptions", auth=False))[0] == 401
    assert (await api.call("GET", "/v1/subscriptions"))[0] == 200
    assert (await api.call("GET", "/healthz", auth=False))[0] == 200  # probes stay open


async def test_without_a_token_the_api_serves_loopback_only_and_says_so(
    make_settings: SettingsFactory, start_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    assert listen_host(make_settings(http_host="127.0.0.1", api_token=None)) == "127.0.0.1"
    assert "serves loopback clients only" in caplog.text
    assert listen_host(make_settings(http_host="0.0.0.0", api_token="s3cret-of-16-chars")) == "0.0.0.0"
    api = await start_api(token=None)
    assert (await api.call("POST", "/v1/subscriptions", WEBHOOK))[0] == 201  # a loopback client


async def test_malformed_requests_get_json_errors(api: Api) -> None:
    async with api.http.post(
        api.base + "/v1/subscriptions",
        data=b"{not json",
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]["message"]
    async with api.http.post(
        api.base + "/v1/subscriptions", data=b"name=x", headers={"Authorization": f"Bearer {api.token}"}
    ) as response:
        assert response.status == 415
    big = {**WEBHOOK, "name": "x" * 100_000}
    status, error = await api.call("POST", "/v1/subscriptions", big)
    assert status == 413
    assert "65536 bytes" in error["error"]["message"]
    status, error = await api.call("GET", "/v1/nothing-here")
    assert status == 404
    assert error["error"]["message"] == "Not Found"
    status, error = await api.call("PUT", "/v1/subscriptions")
    assert status == 405


async def test_a_snooze_and_a_muted_rule_are_shown_in_reads_and_cleared_with_null(api: Api) -> None:
    _, created = await api.call("POST", "/v1/subscriptions", WEBHOOK)
    path = f"/v1/subscriptions/{created['id']}"

    status, _snoozed = await api.call(
        "PATCH", path, {"snooze_until": "2999-01-01T00:00:00Z", "muted_rules": ["tag:defence"]}
    )
    assert status == 200
    _, shown = await api.call("GET", path)
    assert shown["snooze_until"] == "2999-01-01T00:00:00Z"
    assert shown["snoozed"] is True
    assert shown["muted_rules"] == ["tag:defence"]
    assert shown["enabled"] is True

    _, woken = await api.call("PATCH", path, {"snooze_until": None})
    assert woken["snooze_until"] is None
    assert woken["snoozed"] is False
    assert woken["muted_rules"] == ["tag:defence"]


async def test_subscription_names_are_unique(api: Api) -> None:
    assert (await api.call("POST", "/v1/subscriptions", WEBHOOK))[0] == 201
    status, error = await api.call("POST", "/v1/subscriptions", WEBHOOK)
    assert status == 409
    assert "'ops'" in error["error"]["message"]

    _, other = await api.call("POST", "/v1/subscriptions", {**WEBHOOK, "name": "desk"})
    status, _ = await api.call("PATCH", f"/v1/subscriptions/{other['id']}", {"name": "ops"})
    assert status == 409


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("tag:defense", "no rule has the tag 'defense', did you mean 'defence'?"),
        ("leader_sumit", "no rule has the id 'leader_sumit', did you mean 'leader_summit'?"),
    ],
)
async def test_an_unknown_tag_or_rule_gets_a_did_you_mean(api: Api, pattern: str, says: str) -> None:
    status, error = await api.call("POST", "/v1/subscriptions", {**WEBHOOK, "rules": [pattern]})

    assert status == 422
    assert error["error"]["fields"] == [{"field": "rules[0]", "message": says}]
    status, error = await api.call("POST", "/v1/subscriptions", {**WEBHOOK, "muted_rules": [pattern]})
    assert error["error"]["fields"] == [{"field": "muted_rules[0]", "message": says}]


async def test_an_email_subscription_without_smtp_is_accepted_with_a_warning_also_on_healthz(
    start_api: ApiFactory,
) -> None:
    api = await start_api(smtp_host=None)
    status, created = await api.call(
        "POST", "/v1/subscriptions", {"name": "desk", "email": {"to": ["a@example.org"]}}
    )

    assert status == 201
    assert "no SMTP server is configured (GEOALERT_SMTP_HOST)" in created["warnings"][0]
    _, health = await api.call("GET", "/healthz")
    assert health["status"] == "ok"
    assert any("'desk'" in w and "GEOALERT_SMTP_HOST" in w for w in health["warnings"])

    api = await start_api(smtp_host="smtp.example.org")
    _, created = await api.call(
        "POST", "/v1/subscriptions", {"name": "desk2", "email": {"to": ["a@example.org"]}}
    )
    assert created["warnings"] == []


async def test_a_webhook_host_is_not_resolved_at_creation(start_api: ApiFactory) -> None:
    # .invalid never resolves (RFC 6761): a receiver that does not exist yet, or an offline machine
    api = await start_api(webhook_allow_cidrs="")
    body = {**WEBHOOK, "webhook": {"url": "https://receiver.invalid/hook"}}

    status, created = await api.call("POST", "/v1/subscriptions", body)

    assert status == 201, created
    for url in ("http://localhost./", "http://api.localhost:8080/", "http://[::1]/", "http://10.1.2.3/"):
        status, error = await api.call("POST", "/v1/subscriptions", {**WEBHOOK, "webhook": {"url": url}})
        assert status == 422, url
        assert error["error"]["fields"][0]["field"] == "webhook.url"


async def test_a_console_subscription_cannot_be_made_over_the_api(api: Api) -> None:
    status, error = await api.call("POST", "/v1/subscriptions", {"name": "t", "console": {}})

    assert status == 422
    assert error["error"]["fields"][0]["field"] == "console"


SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
TELEGRAM = "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123456"


async def test_an_apprise_subscription_keeps_its_urls_secret_in_every_read(api: Api) -> None:
    body = {"name": "chat", "rules": ["tag:diplomacy"], "apprise": {"urls": [SLACK, TELEGRAM]}}

    status, created = await api.call("POST", "/v1/subscriptions", body)

    assert status == 201, created
    assert created["channel"] == "apprise"
    _, listed = await api.call("GET", "/v1/subscriptions")
    _, shown = await api.call("GET", f"/v1/subscriptions/{created['id']}")
    for text in (str(created), str(listed), str(shown)):
        assert "TIiajkdnlazkcOXrIdevi7FQ" not in text
        assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in text
    assert [u.split("://")[0] for u in shown["apprise"]["urls"]] == ["slack", "tgram"]

    status, changed = await api.call("PATCH", f"/v1/subscriptions/{created['id']}", {"min_severity": "high"})
    assert status == 200
    assert changed["apprise"] == shown["apprise"]  # a change elsewhere keeps the URLs


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nope://x", "is not an Apprise URL"),
        ("ntfy://localhost/topic", "localhost resolves to 127.0.0.1 is loopback"),
        ("json://10.0.0.7:8080/hook", "10.0.0.7 is private"),
    ],
)
async def test_an_apprise_url_that_is_unknown_or_private_on_its_face_is_refused(
    start_api: ApiFactory, url: str, says: str
) -> None:
    api = await start_api(webhook_allow_cidrs="")
    status, error = await api.call("POST", "/v1/subscriptions", {"name": "chat", "apprise": {"urls": [url]}})

    assert status == 422
    (problem,) = error["error"]["fields"]
    assert problem["field"] in ("apprise.urls", "apprise.urls[0]")
    assert says in problem["message"]
    assert url.split("://")[1] not in problem["message"]  # a URL may hold a token: never echoed


async def test_a_file_subscription_with_an_unknown_tag_is_named_at_start_up(
    start_api: ApiFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "subscriptions.yaml").write_text(
        "subscriptions:\n  - name: desk\n    rules: ['tag:defense']\n    console: {}\n"
    )

    await start_api()

    assert (
        "subscription 'desk' rules[0]: no rule has the tag 'defense', did you mean 'defence'?" in caplog.text
    )
