"""``geoalert run`` and ``geoalert migrate-keys``: the service itself, from the command line.

Kept apart from ``service.cli`` so that the tools (``geoalert match``,
``geoalert rules ...``, ``geoalert feeds ...``) start without importing the
web server, Redis clients and feed fetchers they never use.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Sequence

from aiohttp import web

from service.api.middlewares import listen_host
from service.app import create_app
from service.config import Settings, load_settings, unknown_variables
from service.connections import redis_client
from service.embedded_redis import start_embedded
from service.errors import SettingsError
from service.keymigration import migrate
from service.keys import Keys
from service.logs import configure_logging

log = logging.getLogger("geoalert")


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


async def serve(settings: Settings, roles: list[str], warnings: Sequence[str] = ()) -> None:
    """Run until SIGTERM or SIGINT, then stop taking work, finish what is in flight, and return.

    ``warnings`` (settings the environment got wrong) are logged once the signals are ours.
    """
    # Signals are ours before anything starts: a SIGTERM during start-up, or just
    # after "running roles" is logged, must still stop the service gracefully. The
    # first line a supervisor may act on (a warning about a misspelt setting) is
    # logged only after that, so a SIGTERM sent on seeing it cannot kill the
    # process before the handlers are in place.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    for warning in warnings:
        log.warning("%s", warning)
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


def run(roles: list[str]) -> int:
    settings = load_settings()
    configure_logging(settings.log_level, fmt=settings.log_format)
    # One line per scheduled poll is noise; the poller logs what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    asyncio.run(serve(settings, roles, unknown_variables()))
    return 0


def migrate_keys(*, dry_run: bool) -> int:
    settings = load_settings()
    if settings.redis_url is None:
        url, server = start_embedded(settings.data_dir)
    else:
        url, server = settings.redis_url, None

    async def migrate_all() -> dict[str, int]:
        redis = redis_client(url)
        try:
            return await migrate(redis, Keys(settings.key_prefix), dry_run=dry_run)
        finally:
            await redis.aclose()

    try:
        counts = asyncio.run(migrate_all())
    finally:
        if server is not None:
            server.stop()
    verb = "would rename" if dry_run else "renamed"
    print(f"{verb} {counts['renamed']} keys; {counts['skipped']} left alone (new name taken)")
    return 0
