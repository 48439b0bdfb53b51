"""`geoalert rules check` reports every error of every phase in one run: a file that fails its
schema is still compiled, as far as it can be, for the errors it would show next."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.matching import load_rules
from service.matching.errors import RuleLoadError


def _errors(directory: Path) -> list[str]:
    with pytest.raises(RuleLoadError) as caught:
        load_rules(directory)
    return [f"{Path(e.path).name}:{e.line}:{e.col}: {e.message}" for e in caught.value.errors]


def test_schema_errors_and_the_compile_errors_behind_them_come_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "id: r1\ntitle: R\nseverty: high\nparts:\n"
        '  a: {any: ["@nolist", "/(unclosed/"]}\n  b: {bogus: 1}\ncondition: a and zz\n'
    )
    (tmp_path / "s.yaml").write_text(
        'id: r2\ntitle: S\nparts:\n  a: {any: ["@missing"]}\ncondition: a and q\n'
    )
    errors = _errors(tmp_path)
    assert errors[0] == "r.yaml:3:1: unknown key 'severty', did you mean 'severity'?"
    assert errors[1:3] == [
        "r.yaml:5:13: unknown list '@nolist'",
        "r.yaml:5:24: invalid regular expression /(unclosed/: missing ): (unclosed",
    ]
    assert errors[3].startswith("r.yaml:6:7: unknown key 'bogus'")
    assert errors[4:] == [
        "r.yaml:7:18: condition: unknown part 'zz'",
        "s.yaml:4:13: unknown list '@missing'",
        "s.yaml:5:18: condition: unknown part 'q'",
    ]


def test_a_part_with_a_schema_error_is_not_then_called_unknown_by_the_condition(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "id: r1\ntitle: R\nparts:\n  a: {any: [alpha], min: many}\n  b: {any: [beta]}\ncondition: a and b\n"
    )
    assert _errors(tmp_path) == ["r.yaml:4:26: parts.a.min: Input should be a valid integer"]


def test_a_rule_missing_its_title_still_has_its_condition_checked(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("id: r1\nparts:\n  a: {any: [alpha]}\ncondition: a or\n")
    errors = _errors(tmp_path)
    assert errors[0] == "r.yaml:1:1: missing required key 'title'"
    assert len(errors) == 2
    assert errors[1].startswith("r.yaml:4:")
