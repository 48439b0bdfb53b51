"""The current good rule set of a directory, reloaded when its files change."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from service.errors import FileProblem
from service.matching.errors import RuleLoadError
from service.matching.loader import load_rules, rule_files
from service.matching.ruleset import RuleSet

logger = logging.getLogger(__name__)

_Signature = tuple[tuple[str, int, int, int], ...]


class RuleSource:
    """Holds the last rule set that loaded cleanly.

    ``refresh()`` is cheap when nothing changed (one ``stat`` per file), so the
    matcher can call it every second or two. A broken edit leaves the running
    rules in place and its problems in ``errors`` until the files are fixed.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._signature = self._stat()
        self.rules: RuleSet = load_rules(self.directory)
        self.errors: list[FileProblem] = []
        self.loaded_at = dt.datetime.now(dt.UTC)
        self._loading = threading.Lock()

    @property
    def version(self) -> str:
        """A digest of the files behind the running rules."""
        return self.rules.version

    def refresh(self) -> bool:
        """Reload if any file was added, removed or edited; True if a new rule set was installed.

        Safe to call from a thread (the service's watcher does, so that a large
        edit never holds up the event loop): one load at a time, and ``rules``
        is replaced whole, so readers always see one good set.
        """
        with self._loading:
            return self._refresh()

    def _refresh(self) -> bool:
        signature = self._stat()
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            rules = load_rules(self.directory)
        except RuleLoadError as exc:
            self.errors = exc.errors
            for error in exc.errors:
                logger.error("rules not reloaded, keeping version %s: %s", self.version, error)
            return False
        except Exception as exc:
            # A bug, not a bad edit; the edit must still be reported (its
            # signature is recorded, so it would otherwise never be retried).
            logger.exception("rules not reloaded, keeping version %s", self.version)
            self.errors = [
                FileProblem(str(self.directory), 1, 1, f"could not be loaded: {type(exc).__name__}")
            ]
            return False
        self.errors = []
        if rules.version == self.rules.version:
            return False
        self.rules = rules
        self.loaded_at = dt.datetime.now(dt.UTC)
        logger.info("rules reloaded: version %s, %d rules", rules.version, len(rules.rules))
        return True

    def _stat(self) -> _Signature:
        if not self.directory.is_dir():
            return ()
        entries = []
        for path in rule_files(self.directory):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while listing; the next refresh sees the removal
            entries.append((str(path), stat.st_mtime_ns, stat.st_size, stat.st_ino))
        return tuple(entries)
