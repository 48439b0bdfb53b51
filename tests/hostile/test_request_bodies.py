"""Issue 10, points 4, 11 and 16: request bodies are read whole, bounded, and never answered with a 500."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.apikit import Api, ApiFactory
from tests.helpers import wait_until
from tests.hostile.wire import raw_request

WEBHOOK = {"name": "x", "rules": ["*"], "webhook": {"url": "http://127.0.0.1:9/hook"}}
ROUTES_WITH_BODIES = ["/v1/subscriptions", "/v1/rules/test", "/v1/articles"]


def batch(count: int, body_bytes: int) -> dict[str, Any]:
    filler = "Talks resumed in Geneva on Thursday. " * (body_bytes // 37 + 1)
    return {
        "items": [
            {
                "source": "wire",
                "title": f"Report {n}",
                "body": filler[:body_bytes],
                "url": f"https://wire.example/{n}",
            }
            for n in range(count)
        ]
    }


async def post(api: Api, path: str, data: bytes, *, chunked: bool = False) -> tuple[int, dict[str, Any]]:
    """POST as any client would, with a Content-Length, or as a stream in chunks without one."""
    headers = [("Authorization", f"Bearer {api.token}".encode()), ("Content-Type", b"application/json")]
    response = await raw_request(api.base, "POST", path, headers=headers, body=data, chunked=chunked)
    return response.status, response.json


# --- point 4: a valid large push is read whole ---------------------------------------------------


async def test_a_valid_880_KB_batch_of_400_articles_is_accepted(api: Api) -> None:
    data = json.dumps(batch(400, 2_150)).encode()
    assert 850_000 < len(data) < 1_000_000  # under the 1 MiB push limit

    status, answer = await post(api, "/v1/articles", data)

    assert status == 202, answer
    assert answer["accepted"] == 400


async def test_the_same_batch_sent_chunked_without_a_length_is_accepted(api: Api) -> None:
    data = json.dumps(batch(400, 2_150)).encode()
    status, answer = await post(api, "/v1/articles", data, chunked=True)
    assert status == 202, answer
    assert answer["accepted"] == 400


@pytest.mark.parametrize("chunked", [False, True], ids=["with-length", "chunked"])
async def test_a_batch_of_10000_articles_gets_413_never_400(api: Api, chunked: bool) -> None:
    small = json.dumps({"items": [{"source": "s", "title": f"t{n}"} for n in range(10_000)]}).encode()
    large = json.dumps(batch(10_000, 200)).encode()
    assert len(small) < 1024 * 1024 < len(large)
    for data in (small, large):
        status, answer = await post(api, "/v1/articles", data, chunked=chunked)
        assert status == 413, answer
        assert "limit" in answer["error"]["message"]


async def test_other_bodies_over_their_limit_get_413_even_without_a_length(api: Api) -> None:
    data = json.dumps({**WEBHOOK, "name": "x" * 100_000}).encode()
    status, answer = await post(api, "/v1/subscriptions", data, chunked=True)
    assert status == 413
    assert "65536 bytes" in answer["error"]["message"]


# --- point 11: hostile JSON is a 4xx, never a 500 with a traceback -----------------------------


@pytest.mark.parametrize("path", ROUTES_WITH_BODIES)
async def test_json_nested_30000_deep_is_a_400_not_a_500(
    api: Api, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    status, answer = await post(api, path, b"[" * 30_000 + b"]" * 30_000)
    assert status == 400, answer
    assert "nested" in answer["error"]["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/subscriptions",
            '{"name": "x", "email": {"to": ["a@example.org"]}, "throttle": {"period": %s}}',
        ),
        ("/v1/articles", '{"source": "s", "title": "t", "published": %s}'),
        ("/v1/rules/test", '{"title": "t", "published": %s}'),
    ],
)
@pytest.mark.parametrize("digits", [5_000, 4_000])
async def test_a_5000_digit_integer_is_a_4xx_not_a_500(
    api: Api, path: str, body: str, digits: int, caplog: pytest.LogCaptureFixture
) -> None:
    status, answer = await post(api, path, (body % ("9" * digits)).encode())
    assert status in (400, 422), answer
    assert "error" in answer
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("cursor", "status"),
    [
        ("0-0", 200),
        ("99999999999999999999-0", 422),
        ("1-99999999999999999999", 422),
        ("18446744073709551616-0", 422),
    ],
)
async def test_alert_cursors_redis_cannot_take_are_a_422_or_an_empty_page(
    api: Api, cursor: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    got, answer = await api.call("GET", f"/v1/alerts?cursor={cursor}")
    assert got == status, answer
    if status == 200:
        assert answer == {"items": [], "next_cursor": None}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_largest_valid_cursor_is_served(api: Api) -> None:
    got, answer = await api.call("GET", "/v1/alerts?cursor=18446744073709551615-18446744073709551615")
    assert got == 200, answer


# --- point 16: a client that goes away mid-body is not a storage fault -------------------------


@pytest.mark.parametrize("path", ["/v1/subscriptions", "/v1/articles"])
async def test_a_client_that_disconnects_mid_body_is_logged_as_such_not_as_storage_unavailable(
    start_api: ApiFactory, small_rules: Path, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    api: Api = await start_api(rules_dir=small_rules)
    caplog.set_level(logging.INFO)
    host, port = api.base.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 50000\r\n\r\n".encode()
        + b'{"items": [' * 10
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()

    await wait_until(lambda: "went away" in caplog.text or "storage unavailable" in caplog.text)
    assert "storage unavailable" not in caplog.text
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("service.api")
    ]


async def test_raw_bytes_that_are_not_utf8_json_are_a_400(api: Api) -> None:
    response = await raw_request(
        api.base,
        "POST",
        "/v1/articles",
        headers=[("Authorization", f"Bearer {api.token}".encode()), ("Content-Type", b"application/json")],
        body=b'{"source": "\xff\xfe", "title": "t"}',
    )
    assert response.status == 400
