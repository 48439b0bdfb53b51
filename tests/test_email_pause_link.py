"""Alert emails: no doubled ellipses, and a signed List-Unsubscribe link that pauses the subscription
without the API token (GET shows a button and changes nothing; POST pauses, as one-click clients send)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from redis.asyncio import Redis

from service.keys import Keys
from service.models import Evidence
from tests.apikit import ApiFactory
from tests.deliverykit import make_alert
from tests.helpers import wait_until
from tests.smtpkit import SmtpServer

PUBLIC = "https://geoalert.example.org"


async def test_an_email_carries_a_signed_pause_link_that_works_without_the_token(
    start_api: ApiFactory, smtp_starttls: SmtpServer, redis: Redis, key_prefix: str
) -> None:
    smtp = smtp_starttls.config()
    api = await start_api(
        roles=("api", "dispatcher"),
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_ca_file=smtp.ca_file,
        public_url=PUBLIC,
    )
    _, sub = await api.call(
        "POST", "/v1/subscriptions", {"name": "desk", "email": {"to": ["desk@example.org"]}}
    )
    _, other = await api.call(
        "POST", "/v1/subscriptions", {"name": "other", "email": {"to": ["o@example.org"]}}
    )
    alert = make_alert(1)
    alert.evidence = [
        Evidence(part="meeting", field="body", term="~meet", text="meets", start=40, end=45,
                 snippet="…said that Putin meets Kim under a deal…")
    ]  # fmt: skip
    await redis.xadd(Keys(key_prefix).alerts, {"data": alert.model_dump_json(), "rule": "leader_summit"})
    await wait_until(lambda: len(smtp_starttls.recorder.mails) == 2)
    mail = next(m for m in smtp_starttls.recorder.mails if m.recipients == ["desk@example.org"]).message

    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "…said that Putin meets Kim under a deal…" in text
    assert "… ..." not in text and "... …" not in text  # noqa: PT018
    assert "&hellip;" not in html and "……" not in html  # noqa: PT018
    header = mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.*)>", header).group(1)  # type: ignore[union-attr]
    assert link.startswith(f"{PUBLIC}/v1/links/pause/{sub['id']}?token=")
    assert link in text
    path = urlsplit(link).path + "?" + urlsplit(link).query

    status, page = await api.call("GET", path, auth=False)
    assert status == 200
    assert "Pause it" in page and "desk" in page  # noqa: PT018
    _, still = await api.call("GET", f"/v1/subscriptions/{sub['id']}")
    assert still["enabled"] is True  # a link scanner's GET changes nothing

    token = urlsplit(link).query.removeprefix("token=")
    for forged in (
        f"/v1/links/pause/{sub['id']}?token={'y' if token[0] == 'x' else 'x'}{token[1:]}",
        f"/v1/links/pause/{other['id']}?token={token}",  # another subscription's link
        f"/v1/links/pause/nope?token={token}",
    ):
        status, error = await api.call("POST", forged, auth=False)
        assert status == 404, forged
        assert error["error"]["message"] == "no such link"

    status, paused = await api.call(
        "POST", path, auth=False, data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status == 200
    assert paused == {"subscription": sub["id"], "paused": True}
    _, after = await api.call("GET", f"/v1/subscriptions/{sub['id']}")
    assert after["enabled"] is False
    assert after["disabled_reason"] == "paused from the link in an alert email"
    _, untouched = await api.call("GET", f"/v1/subscriptions/{other['id']}")
    assert untouched["enabled"] is True


async def test_without_a_public_url_emails_carry_no_link(
    start_api: ApiFactory, smtp_starttls: SmtpServer, redis: Redis, key_prefix: str
) -> None:
    smtp = smtp_starttls.config()
    api = await start_api(
        roles=("api", "dispatcher"), smtp_host=smtp.host, smtp_port=smtp.port, smtp_ca_file=smtp.ca_file
    )
    await api.call("POST", "/v1/subscriptions", {"name": "desk", "email": {"to": ["desk@example.org"]}})
    await redis.xadd(
        Keys(key_prefix).alerts, {"data": make_alert(1).model_dump_json(), "rule": "leader_summit"}
    )
    await wait_until(lambda: len(smtp_starttls.recorder.mails) == 1)
    assert smtp_starttls.recorder.mails[0].message["List-Unsubscribe"] is None
