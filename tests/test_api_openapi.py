"""``/openapi.json`` describes every route, and a schemathesis run against it finds no server error."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from aiohttp import web

from service.app import create_app
from service.console.pages import CONSOLE_PATHS
from tests.apikit import Api, ApiFactory
from tests.conftest import ROOT, SettingsFactory


async def test_the_document_is_openapi_3_1_and_covers_every_route(
    api: Api, make_settings: SettingsFactory
) -> None:
    status, document = await api.call("GET", "/openapi.json", auth=False)

    assert status == 200
    assert document["openapi"] == "3.1.0"
    app = create_app(make_settings(), roles=["api"])
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
        and isinstance(route.resource, web.Resource)
        and route.resource is not None
        and route.resource.canonical not in CONSOLE_PATHS
        and not route.resource.canonical.startswith("/static/")
    }
    described = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert served == described
    for ops in document["paths"].values():
        for op in ops.values():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }
    writes = [
        op
        for path, ops in document["paths"].items()
        for m, op in ops.items()
        if m != "get" and not path.startswith("/v1/links/")  # signed links: the signature is the authority
    ]
    assert all(op["security"] == [{"bearer": []}] for op in writes)
    links = [
        op for path, ops in document["paths"].items() if path.startswith("/v1/links/") for op in ops.values()
    ]
    assert links
    assert all(op["security"] == [] for op in links)


@pytest.mark.timeout(240)  # some 30 operations, 30 examples each, on a shared 2-core machine
async def test_schemathesis_finds_no_server_error_nor_a_response_off_the_schema(
    start_api: ApiFactory, tmp_path: Path
) -> None:
    (tmp_path / "subscriptions.yaml").write_text("subscriptions:\n  - name: terminal\n    console: {}\n")
    # Saving a rule is one of the operations: a copy of the rules takes the writes.
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    api = await start_api(roles=("dispatcher", "api"), rules_dir=tmp_path / "rules")
    # Saving a rule file checks every one of its examples (some 1,200 for leader_summit), which takes
    # seconds on a busy machine: that operation gets the same limit as the request timeout below, the
    # others keep the 10 s that `--checks all` sets. Schemathesis reads this file from its working directory.
    (tmp_path / "schemathesis.toml").write_text(
        '[[operations]]\ninclude-name = "PUT /v1/rules/{id}"\nchecks.max_response_time = 60.0\n'
    )
    # A real subscription, so its routes are exercised beyond 404s.
    await api.call("POST", "/v1/subscriptions", {"name": "seed", "webhook": {"url": "http://127.0.0.1:9/"}})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{api.base}/openapi.json",
        "--header",
        f"Authorization: Bearer {api.token}",
        "--checks",
        "all",
        # Schema-valid data is still refused where the schema cannot say why (an unresolvable
        # webhook host, an unknown rule id); those checks are about the schema, not the server.
        "--exclude-checks",
        "positive_data_acceptance,negative_data_rejection,allow_header_conformance",
        # An event stream never ends by design; its own tests read it.
        "--exclude-path",
        "/v1/alerts/stream",
        "--max-examples",
        "30",
        "--seed",
        "1",
        "--workers",
        "1",
        # Saving a shipped rule file as it was read (the stateful phase does) checks every one of its
        # examples: seconds on a busy machine, past the default 10.
        "--request-timeout",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")

    assert process.returncode == 0, text[-5000:]
    assert "passed" in text
