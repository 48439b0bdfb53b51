"""The service's error tree.

    GeoalertError
     ├── SettingsError            a bad environment setting
     └── ConfigFileError          YAML files that cannot be read or do not validate;
          │                       .problems lists each FileProblem (path, line, col)
          └── RuleLoadError       a rules directory (service.matching), .errors as well

Delivery errors live with the notifiers (notifiers.base):

    DeliveryError
     ├── RetryableError           try again later, perhaps after retry_after
     └── PermanentError           never try again
"""

from __future__ import annotations

from dataclasses import dataclass


class GeoalertError(Exception):
    """Base of the service's own errors."""


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong in a file, and where."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class SettingsError(GeoalertError):
    """A setting from the environment has a bad value."""


class ConfigFileError(GeoalertError):
    """One or more YAML files that cannot be read or do not validate."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
