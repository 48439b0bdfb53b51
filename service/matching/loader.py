"""Read a rules directory: every rule and list file, every error collected.

Only what lies inside the directory is read. A symbolic link that leads out
of it (``ln -s /etc/shadow rules/x.yaml``) is an error naming the link and
never its target, so that no file of the machine ends up quoted in an error
message; links that stay inside are followed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel

from service.errors import ConfigFileError, FileProblem
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


def load_rules(directory: Path) -> RuleSet:
    """Load and compile every file under ``directory``; raise ``RuleLoadError`` listing every problem."""
    directory = Path(directory)
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
    for path in rule_files(directory):
        if path in outside:
            continue
        try:
            raw = path.read_bytes()
        except OSError as exc:
            errors.append(FileProblem(str(path), 1, 1, f"cannot read file: {exc.strerror or exc}"))
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
        raise RuleLoadError(sorted(errors, key=lambda e: (e.path, e.line, e.col)))
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
