"""A config file that is re-read when it changes, keeping the last good version.

A broken edit must never take the service down or drop what already works:
the new version is installed only when it loads cleanly; otherwise its
problems are kept for the logs and the health endpoint.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from service.errors import ConfigFileError, FileProblem

T = TypeVar("T")
log = logging.getLogger(__name__)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class WatchedFile(Generic[T]):
    def __init__(self, path: Path, load: Callable[[Path], T]) -> None:
        self.path = path
        self._load = load
        self._signature = _signature(path)
        self.current: T = load(path)  # the first load must succeed
        self.problems: list[FileProblem] = []
        self._loading = threading.Lock()

    def refresh(self) -> bool:
        """Reload if the file changed; True when a new version was installed.

        Safe to call from a thread (the watchers do): one load at a time, and
        ``current`` is replaced whole, never mutated.
        """
        with self._loading:
            return self._refresh()

    def _refresh(self) -> bool:
        signature = _signature(self.path)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            value = self._load(self.path)
        except ConfigFileError as exc:
            self.problems = exc.problems
            for problem in exc.problems:
                log.error("keeping the last good %s: %s", self.path.name, problem)
            return False
        except Exception as exc:
            # A bug, not a bad edit; but the edit must still be reported, not
            # forgotten because its signature was already recorded.
            log.exception("keeping the last good %s: it could not be loaded", self.path.name)
            self.problems = [FileProblem(str(self.path), 1, 1, f"could not be loaded: {type(exc).__name__}")]
            return False
        self.current = value
        self.problems = []
        log.info("reloaded %s", self.path)
        return True
