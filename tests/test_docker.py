"""The container set-up is valid without a Docker engine: schema, references, roles."""

from __future__ import annotations

import json
import re
import tomllib
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


def _roles(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if n != "redis"}


def test_reads_need_the_token_and_the_api_is_published_on_loopback_by_default(
    compose: dict[str, Any],
) -> None:
    api = compose["services"]["api"]
    assert api["environment"]["GEOALERT_API_AUTH_READS"] == "true"
    assert api["ports"] == ["${GEOALERT_API_BIND:-127.0.0.1}:8080:8080"]


def test_secrets_reach_the_containers_as_files_never_as_variables(compose: dict[str, Any]) -> None:
    for name, service in _roles(compose).items():
        environment = service["environment"]
        assert "GEOALERT_API_TOKEN" not in environment, name
        assert "GEOALERT_SMTP_PASSWORD" not in environment, name
        assert environment["GEOALERT_SMTP_PASSWORD_FILE"] == "/run/secrets/smtp_password", name
        assert "smtp_password" in service["secrets"], name
    assert compose["services"]["api"]["environment"]["GEOALERT_API_TOKEN_FILE"] == "/run/secrets/api_token"
    assert set(compose["secrets"]) == {"api_token", "smtp_password"}
    for variable in (
        "GEOALERT_SMTP_HOST",
        "GEOALERT_SMTP_PORT",
        "GEOALERT_SMTP_USERNAME",
        "GEOALERT_SMTP_FROM",
    ):
        assert variable in compose["services"]["dispatcher"]["environment"], variable


def test_every_role_has_a_health_check_and_the_image_one_too(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "healthcheck" in service, name
    for name, service in _roles(compose).items():
        assert service["healthcheck"]["test"] == ["CMD", "geoalert", "healthcheck"], name
        assert service["environment"]["GEOALERT_HEARTBEAT_FILE"], name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (
        'HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["geoalert", "healthcheck"]'
        in dockerfile
    )
    assert "GEOALERT_HEARTBEAT_FILE=" in dockerfile


def test_the_image_installs_the_locked_versions_of_every_dependency() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements.lock" in dockerfile
    assert "pip install -r requirements.lock" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    pins = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements.lock: regenerate it (see its header)"


def test_the_readme_says_a_receiver_on_the_compose_network_needs_its_range_opened() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("With Docker") :]
    assert "GEOALERT_WEBHOOK_ALLOW_CIDRS" in section
    assert "GEOALERT_API_AUTH_READS" in section
