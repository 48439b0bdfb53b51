"""Read a rules directory: every rule and list file, every error collected.

Only what lies inside the directory is read. A symbolic link that leads out
of it (``ln -s /etc/shadow rules/x.yaml``) is an error naming the link and
never its target, so that no file of the machine ends up quoted in an error
message; links that stay inside are followed.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from service.errors import ConfigFileError, FileProblem
from service.matching.collector import collector_paused
from service.matching.compiler import Compiler
from service.matching.errors import RuleLoadError
from service.matching.ruleset import RuleSet
from service.matching.schema import EntityListFile, GuardFile, RuleFile, TermListFile
from service.yamlfile import MarkedDocument, load_marked, validate

SUFFIXES = (".yaml", ".yml")


def rule_files(directory: Path) -> list[Path]:
    """Every rule and list file under ``directory``, in a stable order."""
    return sorted(
        path
        for path in directory.rglob("*")
        if path.suffix in SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    )


def links_out(directory: Path) -> list[Path]:
    """Symbolic links (to files or directories) under ``directory`` that lead out of it."""
    root = directory.resolve()
    out = []
    for path in directory.rglob("*"):
        if not path.is_symlink() or any(part.startswith(".") for part in path.relative_to(directory).parts):
            continue
        try:
            inside = path.resolve(strict=True).is_relative_to(root)
        except (OSError, RuntimeError):  # dangling, or a loop of links
            inside = False
        if not inside and (path.suffix in SUFFIXES or path.is_dir()):
            out.append(path)
    return sorted(out)


def load_rules(directory: Path, overlay: Mapping[Path, bytes | None] | None = None) -> RuleSet:
    """Load and compile every file under ``directory``; raise ``RuleLoadError`` listing every problem.

    ``overlay`` stands in for files (by path under ``directory``) without
    touching the disk: bytes replace or add a file, None leaves one out. It is
    how an edit is checked, with its errors at the file's own path, before it
    is saved, and how one rule is compiled alone for a backtest.
    """
    with collector_paused():  # a third of a load's time went to collector passes (collector.py)
        return _load_rules(Path(directory), overlay or {})


def _load_rules(directory: Path, overlay: Mapping[Path, bytes | None]) -> RuleSet:
    if not directory.is_dir():
        raise RuleLoadError([FileProblem(str(directory), 1, 1, "not a directory")])
    errors: list[FileProblem] = []
    term_lists: list[tuple[TermListFile, MarkedDocument]] = []
    entity_lists: list[tuple[EntityListFile, MarkedDocument]] = []
    rules: list[tuple[RuleFile, MarkedDocument]] = []
    guards: list[tuple[GuardFile, MarkedDocument]] = []
    digest = hashlib.sha256()
    outside = links_out(directory)
    for link in outside:
        message = "a symbolic link that leads outside the rules directory; rules are read from inside it only"
        errors.append(FileProblem(str(link), 1, 1, message))
    paths = sorted({*rule_files(directory), *(p for p, raw in overlay.items() if raw is not None)})
    for path in paths:
        if path in outside:
            continue
        try:
            raw = overlay[path] if path in overlay else path.read_bytes()
        except OSError as exc:
            errors.append(FileProblem(str(path), 1, 1, f"cannot read file: {exc.strerror or exc}"))
            continue
        if raw is None:
            continue
        digest.update(str(path.relative_to(directory)).encode() + b"\0" + raw + b"\0")
        try:
            doc = load_marked(raw, str(path))
        except ConfigFileError as exc:
            errors.extend(exc.problems)
            continue
        if not isinstance(doc.data, dict):
            errors.append(
                doc.problem((), "expected a mapping: a rule (id, title, parts, condition), a list or guards")
            )
            continue
        model_type = _model_for(doc.data)
        model = _validate(model_type, doc, errors)
        if model is None:
            # Still compile what can be saved of it, so that its other errors (unknown lists,
            # bad expressions, conditions) show in this run, not after the first are fixed.
            salvaged = _salvage(model_type, doc)
            if salvaged is not None:
                model, doc = salvaged
        if isinstance(model, RuleFile):
            rules.append((model, doc))
        elif isinstance(model, TermListFile):
            term_lists.append((model, doc))
        elif isinstance(model, EntityListFile):
            entity_lists.append((model, doc))
        elif isinstance(model, GuardFile):
            guards.append((model, doc))
    compiler = Compiler()
    compiled = compiler.compile(term_lists, entity_lists, rules, guards)
    errors.extend(compiler.errors)
    if errors:
        unique = list(dict.fromkeys(errors))  # a salvaged file may repeat a problem
        raise RuleLoadError(sorted(unique, key=lambda e: (e.path, e.line, e.col)))
    return RuleSet(compiled, version=digest.hexdigest()[:16])


def _model_for(data: dict[object, object]) -> type[BaseModel]:
    if "list" not in data:
        return GuardFile if "guards" in data and "id" not in data else RuleFile
    return EntityListFile if "entities" in data or "titles" in data else TermListFile


def _validate(
    model_type: type[BaseModel], doc: MarkedDocument, errors: list[FileProblem]
) -> BaseModel | None:
    try:
        return validate(doc, model_type)
    except ConfigFileError as exc:
        errors.extend(exc.problems)
        return None


# A part that matches nothing stands in for a part with errors, so that the
# condition naming it still compiles (and says nothing false about it).
PLACEHOLDER_PART = {"any": ["\u2063geoalert placeholder\u2063"]}
SALVAGE_ROUNDS = 8


def _salvage(model_type: type[BaseModel], doc: MarkedDocument) -> tuple[BaseModel, MarkedDocument] | None:
    """The document with every invalid value taken out (a rule's invalid part made a placeholder).

    Only for finding more errors: a salvaged file never runs, the load fails anyway.
    """
    data = copy.deepcopy(doc.data)
    for _ in range(SALVAGE_ROUNDS):
        try:
            return model_type.model_validate(data), dataclasses.replace(doc, data=data)
        except ValidationError as exc:
            if not all(_take_out(data, tuple(e["loc"]), e["type"]) for e in exc.errors()):
                return None
    return None


def _take_out(data: Any, loc: tuple[int | str, ...], kind: str) -> bool:
    """Remove or replace what ``loc`` points at; False when nothing sensible can be done."""
    if (
        len(loc) >= 2
        and loc[0] == "parts"
        and isinstance(data.get("parts"), dict)
        and loc[1] in data["parts"]
    ):
        data["parts"][loc[1]] = dict(PLACEHOLDER_PART)
        return True
    if kind == "missing":
        if loc == ("title",):
            data["title"] = "untitled"
            return True
        return False
    parent: Any = data
    for key in loc[:-1]:
        try:
            parent = parent[key]
        except (KeyError, IndexError, TypeError):
            return False
    if not loc:
        return False
    try:
        del parent[loc[-1]]
    except (KeyError, IndexError, TypeError):
        return False
    return True
