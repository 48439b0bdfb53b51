"""The README stays true: its settings table and its test command."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from service.cli import build_parser
from service.config import settings_table
from service.matching import load_rules
from service.models import Article, utcnow
from tests.conftest import ROOT


def test_the_readme_documents_every_setting() -> None:
    assert settings_table() in (ROOT / "README.md").read_text(), (
        "regenerate with: python -m service.config README.md"
    )


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev test" in (ROOT / "README.md").read_text()
    assert "./dev test" in (ROOT / ".ci/run").read_text()


def test_the_readme_rule_example_is_a_valid_rule_whose_examples_hold(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("```yaml\nid: leader_summit") + len("```yaml\n")
    example = text[start : text.index("```", start)].replace("id: leader_summit", "id: readme_summit")
    shutil.copytree(ROOT / "rules/lists", tmp_path / "lists")
    (tmp_path / "readme_summit.yaml").write_text(example)

    rules = load_rules(tmp_path)

    doc = yaml.safe_load(example)
    for body in doc["examples"]["match"]:
        assert [m.rule for m in rules.match(Article(id="x", body=body, published=utcnow()))] == [
            "readme_summit"
        ]
    for body in doc["examples"]["no_match"]:
        assert rules.match(Article(id="x", body=body, published=utcnow())) == []


def _readme_command_lines() -> list[str]:
    """Every line of the README's ``sh`` blocks, comments dropped."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #")[0].split(" # ")[0].strip()
            if command:
                lines.append(command)
    return lines


def test_every_geoalert_line_of_the_readme_is_one_a_newcomer_can_type() -> None:
    lines = _readme_command_lines()
    bare = [line for line in lines if line.startswith("geoalert ")]
    # Plain `geoalert` is only for installed deployments (the README says so); each still parses.
    assert all(line.startswith("geoalert run") for line in bare), bare
    for line in bare:
        build_parser().parse_args(shlex.split(line)[1:])
    assert any(line.startswith("./dev geoalert rules check") for line in lines)


@pytest.mark.slow
def test_the_readme_dev_geoalert_commands_work_as_typed(tmp_path: Path) -> None:
    """Run from a clone's top, as typed (through bash, redirections and all), into a scratch copy."""
    commands = [line for line in _readme_command_lines() if line.startswith("./dev geoalert")]
    assert len(commands) >= 5
    for command in commands:
        # What the README sends to a file lands in the scratch directory, not in the clone.
        command = re.sub(r"> (\S+)", lambda m: f"> {tmp_path / m.group(1)}", command)
        done = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "command not found" not in done.stderr
        if "rules check" in command:
            assert done.stdout.startswith("ok: 5 rules in rules")
        if "match <" in command:
            results = [json.loads(line) for line in done.stdout.splitlines()]
            assert [r["id"] for r in results] == ["seed-1", "seed-2"]
            assert {m["rule"] for m in results[0]["matches"]} == {"arms_deal", "leader_summit"}
    assert json.loads((tmp_path / "rules.schema.json").read_text())
