"""Compiled rule sets kept between runs of ``geoalert match``.

Reading and compiling the shipped library takes most of a second, the same work on every run of
a command that may match only a few articles. The compiled set is pickled once, keyed by a
hash of everything it is made from (every rule and list file, the code of the ``service``
package, the Python and library versions), and read back by later runs in a fraction of that.

A pickle runs code when it is read, so the cache is trusted only where no one else could have
written it: a directory of the user's own, closed to others, and files of the user's own that
no one else may write. Anything else (another owner, open permissions, a damaged or truncated
file) is ignored, and the rules are compiled from their files as without a cache.
``GEOALERT_RULE_CACHE`` names the directory (default ``$XDG_CACHE_HOME/geoalert/rules`` or
``~/.cache/geoalert/rules``); ``off`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import sys
import tempfile
import time
from pathlib import Path

import ahocorasick_rs
import pydantic
import pydantic_core
import re2

import service
from service.matching.collector import collector_paused
from service.matching.loader import links_out, load_rules, rule_files
from service.matching.ruleset import RuleSet

ENVIRONMENT = "GEOALERT_RULE_CACHE"
# bumped when what a cache file holds changes shape in a way the key does not see
FORMAT = b"geoalert-rules-1"
SUFFIX = ".pickle"
KEEP = 4  # cache files kept (the newest): a few rules directories, or an edit and its undo
ABANDONED_SECONDS = 3600  # a temporary file this old was left by a run that did not finish writing it
_PRIVATE = stat.S_IRWXG | stat.S_IRWXO


def load_rules_cached(directory: Path, cache: Path | None = None) -> RuleSet:
    """``load_rules(directory)``, from the cache when it holds this directory's rules compiled
    by this code; otherwise compiled, and kept for the next run. Raises ``RuleLoadError`` as
    ``load_rules`` does (a set with errors is never kept)."""
    where = cache if cache is not None else cache_directory()
    key = None if where is None else _key(Path(directory))
    if where is None or key is None:
        return load_rules(directory)
    path = where / f"{key}{SUFFIX}"
    cached = _read(path, key)
    if cached is not None:
        return cached
    rules = load_rules(directory)
    _write(where, path, key, rules)
    return rules


def cache_directory() -> Path | None:
    """Where compiled rule sets are kept, or None when the cache is off."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no", "false") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory to keep it in
            return None
    return Path(base) / "geoalert" / "rules"


def _key(directory: Path) -> str | None:
    """The hash of everything a compiled set is made from, or None where the load is to report
    errors (a link out of the directory, a file that cannot be read): the loader words them."""
    if not directory.is_dir() or links_out(directory):
        return None
    digest = hashlib.sha256(FORMAT)
    digest.update(f"{sys.version}\0{pydantic.VERSION}\0{pydantic_core.__version__}\0".encode())
    for module in (re2, ahocorasick_rs):
        built = os.stat(str(module.__file__))
        digest.update(f"{module.__file__}:{built.st_size}:{built.st_mtime_ns}\0".encode())
    package = Path(service.__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(str(source.relative_to(package)).encode() + b"\0" + source.read_bytes() + b"\0")
    digest.update(b"rules\0")
    try:
        for path in rule_files(directory):
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


def _private(info: os.stat_result) -> bool:
    """Whether a file or directory is the user's own and closed to everyone else's writes."""
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path, key: str) -> RuleSet | None:
    try:
        if not _private(os.stat(path.parent)):
            return None
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with open(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or not _private(info):
            return None
        data = file.read()
    header = FORMAT + b"\0" + key.encode() + b"\0"
    if not data.startswith(header):
        return None
    try:
        with collector_paused():  # hundreds of thousands of objects, none of them garbage
            rules = pickle.loads(memoryview(data)[len(header) :])
    except Exception:  # a damaged file: compiled again, and replaced
        return None
    return rules if isinstance(rules, RuleSet) else None


def _write(where: Path, path: Path, key: str, rules: RuleSet) -> None:
    """Keep the compiled set; a cache that cannot be written only costs the next run the compile."""
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(where)):
            return
        with collector_paused():
            data = pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL)
        descriptor, temporary = tempfile.mkstemp(dir=where, prefix=".", suffix=".part")  # mode 0600
        try:
            with open(descriptor, "wb") as file:
                file.write(FORMAT + b"\0" + key.encode() + b"\0")
                file.write(data)
            os.replace(temporary, path)  # whole or not at all, for a run reading it meanwhile
        except BaseException:
            os.unlink(temporary)
            raise
        _prune(where)
    except (OSError, pickle.PicklingError):
        return


def _prune(where: Path) -> None:
    """The newest ``KEEP`` files, and no half-written one a killed run left behind."""
    kept = sorted(where.glob(f"*{SUFFIX}"), key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for old in kept[KEEP:]:
        old.unlink(missing_ok=True)
    for partial in where.glob(".*.part"):
        if time.time() - partial.stat().st_mtime > ABANDONED_SECONDS:  # another run may be writing it
            partial.unlink(missing_ok=True)
