"""Errors raised while loading rules.

RuleLoadError          one or more problems in a rules directory
  .errors: list[RuleError]   each with the file, line and column to fix
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleError:
    """One problem in a rule or list file, located for the person who edits it."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class RuleLoadError(Exception):
    """A rules directory could not be loaded; ``errors`` lists every problem found."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
