"""The container set-up is valid without a Docker engine: schema, references, roles."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests/data/compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose)  # the schema declares draft-07


def test_every_path_the_compose_file_references_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            assert (context / dockerfile).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: {source}"


def test_every_role_runs_from_the_one_image_against_a_healthy_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    roles = {s["command"][-1] for n, s in services.items() if n != "redis"}
    assert roles == {"api", "poller", "matcher", "dispatcher"}
    assert {s["image"] for n, s in services.items() if n != "redis"} == {"geoalert:latest"}
    assert all(
        s["depends_on"]["redis"]["condition"] == "service_healthy"
        for n, s in services.items()
        if n != "redis"
    )
    assert "--appendonly" in services["redis"]["command"]
    assert "healthcheck" in services["redis"]
    assert services["matcher"]["deploy"]["replicas"] >= 2


def test_the_dockerfile_copies_what_the_package_needs() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for path in ("pyproject.toml", "README.md", "service", "notifiers", "rules", "seeds"):
        assert f"COPY {path}" in text or f" {path} " in text, path
        assert (ROOT / path).exists(), path
