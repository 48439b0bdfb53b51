"""Checking and saving an edited rule file: what the console's editor and ``PUT /v1/rules/{id}`` do.

An edit is compiled with the rest of the directory (its term lists, the
other rules' ids) without touching the disk, so its errors carry the file's
own path, line and column, exactly as ``geoalert rules check`` prints them.
It is saved only if it compiles and its examples pass; the file name comes
from the rule id (checked), never from the client; the old version goes to
``.history/`` (a hidden folder the loader skips); the write is atomic, so
the matchers' file watchers see the old file or the new one, never half.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from service.errors import ConfigFileError, FileProblem
from service.matching import RuleLoadError, RuleSet, load_rules
from service.matching.schema import RuleFile
from service.yamlfile import load_marked, validate

RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A rule file the service loads must be one its own editor can check and save: the shipped files
# carry their examples (about 300 KB for the largest), so the bound leaves them room to grow, and
# stays under what the YAML loader reads of any file (yamlfile.MAX_FILE_BYTES, 2 MiB).
MAX_RULE_BYTES = 1024 * 1024
# A request that carries a rule file: JSON escapes at most double its UTF-8 bytes ("\u4e60" for
# the three bytes of 习), and the rest of the request is small. The API's own body limit is for
# everything else and may well be smaller than a rule file.
MAX_RULE_REQUEST_BYTES = 2 * MAX_RULE_BYTES + 16 * 1024
HISTORY = ".history"
HISTORY_KEEP = 20  # versions kept per rule


class RuleEditError(Exception):
    """The edit cannot be checked or saved; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ExampleResult:
    kind: str  # match or no_match
    number: int
    line: int
    passed: bool
    excerpt: str


@dataclass
class Draft:
    """An edit, compiled: its problems (in this file and, rarely, in others) and its examples."""

    rule_id: str
    path: Path
    problems: list[FileProblem] = field(default_factory=list)
    rules: RuleSet | None = None
    examples: list[ExampleResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(e.passed for e in self.examples)


def check_rule_id(rule_id: str) -> str:
    if not RULE_ID.fullmatch(rule_id):
        raise RuleEditError(422, "a rule id is a lowercase letter, then lowercase letters, digits or _")
    return rule_id


def rules_writable(directory: Path, *, read_only: bool = False) -> tuple[bool, str]:
    """Whether Save can work here, and if not, a sentence saying why."""
    if read_only:
        return False, (
            "rule edits are turned off here (GEOALERT_RULES_READ_ONLY): the rules come from git or the "
            "image, so download the YAML or copy it, and commit it where the rules come from"
        )
    if not directory.is_dir():
        return False, f"the rules directory {directory} does not exist"
    if not os.access(directory, os.W_OK | os.X_OK):
        return False, (
            f"the rules directory {directory} is read-only for the service (rules shipped in the image "
            "or from git): download the YAML or copy it, and commit it where the rules come from"
        )
    return True, ""


def rule_path(directory: Path, rules: RuleSet, rule_id: str) -> Path:
    """The file of a rule: where it is now, or ``<id>.yaml`` in the directory for a new one."""
    check_rule_id(rule_id)
    info = rules.get(rule_id)
    if info is not None and info.path:
        path = Path(info.path)
        if path.resolve().is_relative_to(directory.resolve()):
            return path
    return directory / f"{rule_id}.yaml"


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:79] + "…"


def _declared_id(text: bytes) -> str | None:
    match = re.search(rb"(?m)^id:\s*['\"]?([A-Za-z0-9_-]+)", text)
    return match.group(1).decode() if match else None


def check_draft(directory: Path, rules: RuleSet, rule_id: str, text: str) -> Draft:
    """Compile ``text`` as the file of ``rule_id`` among the directory's other files."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_RULE_BYTES:
        raise RuleEditError(413, f"a rule file is at most {MAX_RULE_BYTES} bytes")
    path = rule_path(directory, rules, rule_id)
    draft = Draft(rule_id, path)
    declared = _declared_id(raw)
    if declared is not None and declared != rule_id:
        line = 1 + raw[: raw.find(b"id:")].count(b"\n") if b"id:" in raw else 1
        draft.problems.append(
            FileProblem(str(path), line, 1, f"id: this file is the rule {rule_id!r}; a new id is a new rule")
        )
        return draft
    # The file alone first: most broken edits are broken here, and this costs a
    # millisecond where compiling the whole directory costs a few hundred.
    try:
        doc = load_marked(raw, str(path))
        if not isinstance(doc.data, dict):
            raise ConfigFileError(
                [doc.problem((), "expected a mapping: a rule (id, title, parts, condition)")]
            )
        validate(doc, RuleFile)
    except ConfigFileError as exc:
        draft.problems = exc.problems
        return draft
    try:
        draft.rules = load_rules(directory, {path: raw})
    except RuleLoadError as exc:
        draft.problems = exc.errors
        return draft
    compiled = next((r for r in draft.rules.compiled.rules if r.info.id == rule_id), None)
    if compiled is None:
        draft.problems.append(FileProblem(str(path), 1, 1, f"the file does not define the rule {rule_id!r}"))
        return draft
    for example in compiled.examples:
        article = example.article
        matched = any(m.rule == rule_id for m in draft.rules.match(article))
        draft.examples.append(
            ExampleResult(
                kind="match" if example.expect_match else "no_match",
                number=example.number,
                line=example.line,
                passed=matched == example.expect_match,
                excerpt=_excerpt(article.title or article.body),
            )
        )
    return draft


def save_rule(directory: Path, rules: RuleSet, rule_id: str, text: str, *, read_only: bool = False) -> Draft:
    """Check, then write atomically, keeping the previous version; raise ``RuleEditError`` if refused."""
    writable, reason = rules_writable(directory, read_only=read_only)
    if not writable:
        raise RuleEditError(409, reason)
    draft = check_draft(directory, rules, rule_id, text)
    if draft.problems:
        raise RuleEditError(422, f"not saved: the rule has {len(draft.problems)} error(s)")
    if not draft.ok:
        raise RuleEditError(422, "not saved: some of the rule's examples fail")
    path = draft.path
    if path.exists():
        _keep_previous(directory, rule_id, path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{rule_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return draft


def _keep_previous(directory: Path, rule_id: str, path: Path) -> None:
    history = directory / HISTORY
    history.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.6f}"[1:]
    (history / f"{rule_id}.{stamp}.yaml").write_bytes(path.read_bytes())
    versions = sorted(history.glob(f"{rule_id}.*.yaml"))
    for old in versions[:-HISTORY_KEEP]:
        old.unlink(missing_ok=True)
