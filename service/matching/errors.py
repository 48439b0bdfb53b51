"""Errors raised while loading rules.

RuleLoadError          one or more problems in a rules directory (a ConfigFileError)
  .errors: list[RuleError]   each with the file, line and column to fix

Rule files are YAML files like any other, so a ``RuleError`` is the service's
``FileProblem`` under the name the matching package has always exported.
"""

from __future__ import annotations

from service.errors import ConfigFileError, FileProblem

RuleError = FileProblem


class RuleLoadError(ConfigFileError):
    """A rules directory could not be loaded; ``errors`` lists every problem found."""

    @property
    def errors(self) -> list[FileProblem]:
        return self.problems
