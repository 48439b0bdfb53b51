"""``geoalert feeds import|export``: move feed lists between geoalert and feed readers (OPML).

Import appends to the feeds file as text, so the operator's comments and
layout stay as they were; feeds whose URL or name the file already has are
left out and said so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from notifiers.printable import printable
from service.config import load_settings
from service.errors import ConfigFileError
from service.ingest.feeds import FeedConfig, load_feeds_file
from service.ingest.opml import OpmlError, export_opml, parse_opml


def register(sub: Any) -> None:
    feeds = sub.add_parser("feeds", help="import or export the feeds list as OPML")
    commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="COMMAND")
    imp = commands.add_parser("import", help="add the feeds of an OPML file to the feeds file")
    imp.add_argument("opml", type=Path, help="the OPML file a feed reader exported")
    imp.add_argument(
        "--feeds-file", type=Path, help="the feeds file to append to (default: GEOALERT_FEEDS_FILE)"
    )
    imp.add_argument("--print", action="store_true", help="print the YAML entries instead of appending")
    imp.set_defaults(func=_import)
    exp = commands.add_parser("export", help="print the feeds file as OPML")
    exp.add_argument("--feeds-file", type=Path, help="the feeds file to read (default: GEOALERT_FEEDS_FILE)")
    exp.set_defaults(func=_export)


def _feeds_file(args: argparse.Namespace) -> Path:
    return Path(args.feeds_file) if args.feeds_file else load_settings().feeds_file


def _import(args: argparse.Namespace) -> int:
    path = _feeds_file(args)
    try:
        existing = load_feeds_file(path)
        found = parse_opml(args.opml.read_bytes(), taken=[f.name for f in existing])
    except OSError as exc:
        print(f"geoalert: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except (ConfigFileError, OpmlError) as exc:
        print(f"geoalert: {args.opml if isinstance(exc, OpmlError) else path}: {exc}", file=sys.stderr)
        return 2
    known = {f.url for f in existing}
    fresh = [f for f in found.feeds if f.url not in known]
    skipped = found.skipped + [(f.url, "already in the feeds file") for f in found.feeds if f.url in known]
    text = entries_yaml(fresh)
    if args.print:
        sys.stdout.write(text)
    elif fresh:
        append_entries(path, text)
    for what, why in skipped:
        print(printable(f"skipped {what}: {why}"), file=sys.stderr)  # an OPML file is someone else's text
    where = "printed" if args.print else f"added to {path}"
    print(f"{len(fresh)} feeds {where}, {len(skipped)} skipped", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    path = _feeds_file(args)
    try:
        feeds = load_feeds_file(path)
    except ConfigFileError as exc:
        print(f"geoalert: {path}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(export_opml(feeds, title=f"geoalert feeds ({path.name})"))
    return 0


def entries_yaml(feeds: list[FeedConfig]) -> str:
    """Feeds as entries of the ``feeds:`` list, with only the fields that differ from the defaults."""
    items = [f.model_dump(exclude_defaults=True) for f in feeds]
    for item, feed in zip(items, feeds, strict=True):
        item["name"], item["url"] = feed.name, feed.url  # always first, always there
    text = yaml.safe_dump(items, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return "".join("  " + line + "\n" for line in text.splitlines()) if items else ""


def append_entries(path: Path, entries: str) -> None:
    """Append entries to the file's ``feeds:`` list (made if the file is new or lacks one)."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    data = yaml.safe_load(current) if current.strip() else None
    if not isinstance(data, dict) or "feeds" not in data:
        entries = "feeds:\n" + entries
    elif not data.get("feeds"):
        # An empty list written as `feeds: []` cannot take block entries below it.
        current = current.replace("feeds: []", "feeds:", 1)
    if current and not current.endswith("\n"):
        current += "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(current + entries, encoding="utf-8")
    tmp.replace(path)
