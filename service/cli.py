"""geoalert: watch news feeds and pushed articles, match them against YAML rules, deliver alerts.

geoalert run                     every role in one process (an embedded Redis unless GEOALERT_REDIS_URL is set)
geoalert rules check             validate the rules, listing every error
geoalert match < articles.jsonl  match articles (JSON lines) against the rules
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import socket
import sys
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from service.api.middlewares import listen_host
from service.app import ALL_ROLES, create_app
from service.config import Settings, load_settings, unknown_variables
from service.connections import redis_client
from service.embedded_redis import start_embedded
from service.errors import ConfigFileError, SettingsError
from service.ingest import feeds_cli
from service.keymigration import migrate
from service.keys import Keys
from service.logs import configure_logging
from service.matching import cli as matching_cli
from service.subscriptions import cli as subscriptions_cli

log = logging.getLogger("geoalert")

RUN_EPILOG = """\
settings:
  Every setting is an environment variable GEOALERT_* (GEOALERT_HTTP_PORT,
  GEOALERT_REDIS_URL, GEOALERT_LOG_LEVEL, ...). The table of them all, with
  defaults, is the "Configuration" section of README.md; print it with
  `python -m service.config`.
"""


def bind_api_socket(settings: Settings) -> socket.socket:
    """The API's listening socket, bound before anything starts.

    A port already in use must stop start-up with one line, before the poller,
    matcher and dispatcher have started doing (and alerting on) anything.
    """
    host = listen_host(settings)  # loopback only while no API token is set
    try:
        infos = socket.getaddrinfo(host, settings.http_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SettingsError(f"invalid setting GEOALERT_HTTP_HOST={host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise SettingsError(
            f"cannot listen on {host}:{settings.http_port} (GEOALERT_HTTP_PORT, GEOALERT_HTTP_HOST): {reason}"
        ) from None
    sock.setblocking(False)
    return sock


async def serve(settings: Settings, roles: list[str]) -> None:
    """Run until SIGTERM or SIGINT, then stop taking work, finish what is in flight, and return."""
    # Signals are ours before anything starts: a SIGTERM during start-up, or just
    # after "running roles" is logged, must still stop the service gracefully.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sock = bind_api_socket(settings) if "api" in roles else None
    app = create_app(settings, roles)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    try:
        # Inside the try: a start-up that fails half-way (bad rules, say) still
        # stops what had started, the embedded redis-server first of all.
        await runner.setup()
        if sock is not None:
            site = web.SockSite(runner, sock, shutdown_timeout=5)
            await site.start()
            log.info("api listening on http://%s:%d", *sock.getsockname()[:2])
        log.info("running roles: %s", ", ".join(roles))
        await stop.wait()
        log.info("stopping: finishing work in flight")
    finally:
        await runner.cleanup()
        if sock is not None:
            sock.close()
    log.info("stopped")


def _run(args: argparse.Namespace) -> int:
    roles = sorted(set(args.role or ALL_ROLES), key=ALL_ROLES.index)
    settings = load_settings()
    configure_logging(settings.log_level, fmt=settings.log_format)
    # One line per scheduled poll is noise; the poller logs what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    for warning in unknown_variables():
        log.warning("%s", warning)
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


def package_version() -> str:
    try:
        return version("geoalert")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoalert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"geoalert {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    migrate = sub.add_parser(
        "migrate-keys",
        help="move a Redis's data from the key layout of geoalert 0.1 to today's (stop the service first)",
    )
    migrate.add_argument("--dry-run", action="store_true", help="count the keys to move, move nothing")
    migrate.set_defaults(func=_migrate_keys)
    matching_cli.register(sub)
    feeds_cli.register(sub)
    subscriptions_cli.register(sub)
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
