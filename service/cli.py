"""The ``geoalert`` command: ``run`` the service (or some of its roles), and the rule tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web

from service.api.middlewares import listen_host
from service.app import ALL_ROLES, create_app
from service.config import Settings, load_settings
from service.connections import redis_client
from service.embedded_redis import start_embedded
from service.errors import ConfigFileError, SettingsError
from service.keymigration import migrate
from service.keys import Keys
from service.matching import cli as matching_cli

log = logging.getLogger("geoalert")


async def serve(settings: Settings, roles: list[str]) -> None:
    """Run until SIGTERM or SIGINT, then stop taking work, finish what is in flight, and return."""
    # Signals are ours before anything starts: a SIGTERM during start-up, or just
    # after "running roles" is logged, must still stop the service gracefully.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(settings, roles)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        if "api" in roles:
            host = listen_host(settings)  # loopback only while no API token is set
            site = web.TCPSite(runner, host, settings.http_port, shutdown_timeout=5)
            await site.start()
            log.info("api listening on http://%s:%d", host, settings.http_port)
        log.info("running roles: %s", ", ".join(roles))
        await stop.wait()
        log.info("stopping: finishing work in flight")
    finally:
        await runner.cleanup()
    log.info("stopped")


def _run(args: argparse.Namespace) -> int:
    roles = sorted(set(args.role or ALL_ROLES), key=ALL_ROLES.index)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per scheduled poll is noise; the poller logs what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    asyncio.run(serve(settings, roles))
    return 0


def _migrate_keys(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.redis_url is None:
        url, server = start_embedded(settings.data_dir)
    else:
        url, server = settings.redis_url, None

    async def migrate_all() -> dict[str, int]:
        redis = redis_client(url)
        try:
            return await migrate(redis, Keys(settings.key_prefix), dry_run=args.dry_run)
        finally:
            await redis.aclose()

    try:
        counts = asyncio.run(migrate_all())
    finally:
        if server is not None:
            server.stop()
    verb = "would rename" if args.dry_run else "renamed"
    print(f"{verb} {counts['renamed']} keys; {counts['skipped']} left alone (new name taken)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="geoalert", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the service (all roles, or the ones named with --role)")
    run.add_argument(
        "--role",
        action="append",
        choices=ALL_ROLES,
        help="run only this part; repeat for several (default: all of them in one process)",
    )
    run.set_defaults(func=_run)
    migrate = sub.add_parser(
        "migrate-keys",
        help="move a Redis's data from the key layout of geoalert 0.1 to today's (stop the service first)",
    )
    migrate.add_argument("--dry-run", action="store_true", help="count the keys to move, move nothing")
    migrate.set_defaults(func=_migrate_keys)
    matching_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"geoalert: {exc}", file=sys.stderr)
    except ConfigFileError as exc:  # a RuleLoadError too
        print(f"geoalert: cannot start, fix these first:\n{exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2
