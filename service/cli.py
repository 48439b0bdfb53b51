"""geoalert: watch news feeds and pushed articles, match them against YAML rules, deliver alerts.

geoalert run                     every role in one process (an embedded Redis unless GEOALERT_REDIS_URL is set)
geoalert rules check             validate the rules, listing every error
geoalert match < articles.jsonl  match articles (JSON lines) against the rules
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from service.errors import ConfigFileError, SettingsError

RUN_EPILOG = """\
settings:
  Every setting is an environment variable GEOALERT_* (GEOALERT_HTTP_PORT,
  GEOALERT_REDIS_URL, GEOALERT_LOG_LEVEL, ...). The table of them all, with
  defaults, is the "Configuration" section of README.md; print it with
  `python -m service.config`.
"""


# `run` and `migrate-keys` need the whole service (web server, Redis clients, feed fetchers);
# they import it when called, so the tools (match, rules, feeds, subscriptions) start quickly.
# For the same reason a command's parser is built only when that command runs (all of them
# for --help): `geoalert match` never imports the web client, the settings or subscriptions.
SERVICE_COMMANDS = ("run", "healthcheck", "migrate-keys")
TOOL_COMMANDS = {
    "match": "service.matching.cli",
    "rules": "service.matching.cli",
    "feeds": "service.ingest.feeds_cli",
    "subscriptions": "service.subscriptions.cli",
}


def _run(args: argparse.Namespace) -> int:
    from service import serving
    from service.config import ALL_ROLES

    return serving.run(sorted(set(args.role or ALL_ROLES), key=ALL_ROLES.index))


def _migrate_keys(args: argparse.Namespace) -> int:
    from service import serving

    return serving.migrate_keys(dry_run=args.dry_run)


def _healthcheck(args: argparse.Namespace) -> int:
    from service import heartbeat
    from service.config import load_settings

    healthy, why = heartbeat.check(load_settings(), max_age=args.max_age)
    print(("ok: " if healthy else "unhealthy: ") + why, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


def package_version() -> str:
    try:
        return version("geoalert")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _wanted(argv: Sequence[str] | None) -> str | None:
    """The command named on the command line, if it is one we know; None builds them all."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in words if not word.startswith("-")), None)
    return command if command in SERVICE_COMMANDS or command in TOOL_COMMANDS else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with only the subcommand ``argv`` names (all of them without one)."""
    parser = argparse.ArgumentParser(
        prog="geoalert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"geoalert {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = _wanted(argv)
    if wanted is None or wanted in SERVICE_COMMANDS:
        _add_service_commands(sub)
    for module in dict.fromkeys(TOOL_COMMANDS.values()):
        if wanted is None or TOOL_COMMANDS.get(wanted) == module:
            importlib.import_module(module).register(sub)
    return parser


def _add_service_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from service import heartbeat
    from service.config import ALL_ROLES

    run = sub.add_parser(
        "run",
        help="run the service (all roles, or the ones named with --role)",
        description="Run the service: every role in one process, or the ones named with --role.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--role",
        action="append",
        choices=ALL_ROLES,
        help="run only this part; repeat for several (default: all of them in one process)",
    )
    run.set_defaults(func=_run)
    health = sub.add_parser(
        "healthcheck",
        help="exit 0 if the service in this container is alive (for Docker health checks)",
        description="Exit 0 if the service is alive: its GEOALERT_HEARTBEAT_FILE was touched recently,"
        " or, without one, the api answers /livez on 127.0.0.1:GEOALERT_HTTP_PORT.",
    )
    health.add_argument(
        "--max-age",
        type=float,
        default=heartbeat.STALE_AFTER,
        metavar="SECONDS",
        help=f"oldest heartbeat that still counts (default: {heartbeat.STALE_AFTER:.0f})",
    )
    health.set_defaults(func=_healthcheck)
    migrate = sub.add_parser(
        "migrate-keys",
        help="move a Redis's data from the key layout of geoalert 0.1 to today's (stop the service first)",
    )
    migrate.add_argument("--dry-run", action="store_true", help="count the keys to move, move nothing")
    migrate.set_defaults(func=_migrate_keys)


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"geoalert: {exc}", file=sys.stderr)
    except ConfigFileError as exc:  # a RuleLoadError too
        print(f"geoalert: cannot start, fix these first:\n{exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2
