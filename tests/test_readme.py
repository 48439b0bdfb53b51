"""The README stays true: its settings table and its test command."""

from __future__ import annotations

from service.config import settings_table
from tests.conftest import ROOT


def test_the_readme_documents_every_setting() -> None:
    assert settings_table() in (ROOT / "README.md").read_text(), (
        "regenerate with: python -m service.config README.md"
    )


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev test" in (ROOT / "README.md").read_text()
    assert "./dev test" in (ROOT / ".ci/run").read_text()
