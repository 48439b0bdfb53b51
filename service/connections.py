"""The Redis client every role uses, chosen by the form of ``GEOALERT_REDIS_URL``.

- ``redis://`` / ``rediss://`` (TLS) / ``unix://``: one server;
- ``redis+sentinel://host:26379[,host2:26379...]/SERVICE_NAME[/DB]``: the
  primary that Sentinel names for SERVICE_NAME, found again after a failover;
- ``redis+cluster://host:7000[,host:7001...]``: a Redis Cluster, any of whose
  nodes serve as a starting point;
- ``rediss+sentinel://`` and ``rediss+cluster://``: the same over TLS (to the
  Sentinels and to the servers alike). Query options, as for ``rediss://``:
  ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs``
  (``required``, the default, ``optional`` or ``none``) and ``ssl_check_hostname``.

Failover is redis-py's own (``Sentinel``, ``RedisCluster``): a command that
meets a dead or demoted primary fails with a connection error, and the
retry below asks again where the primary is now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_SCHEMES = (SENTINEL_SCHEME, "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname")

# Errors a failover (or a restart) causes for a while, after which the same command succeeds.
FAILOVER_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    ClusterDownError,
    TryAgainError,
    MasterDownError,
    ReadOnlyError,
)


class RedisUrlError(ValueError):
    pass


class _SentinelManaged(Redis):
    """The primary's client, which closes the connections to the Sentinels along with its own."""

    sentinels: list[Redis]

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for sentinel in getattr(self, "sentinels", []):
            await sentinel.aclose()


@dataclass(frozen=True)
class RedisTarget:
    """What a ``GEOALERT_REDIS_URL`` names."""

    kind: str  # single | sentinel | cluster
    url: str
    hosts: list[tuple[str, int]] = field(default_factory=list)
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    options: dict[str, str] = field(default_factory=dict)


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    hosts = []
    for part in netloc.rpartition("@")[2].split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep:
            host, port = port, str(default_port)
        if not host or not port.isdigit():
            raise RedisUrlError(f"{part!r} is not host:port")
        hosts.append((host.strip("[]"), int(port)))
    return hosts


def parse_redis_url(url: str) -> RedisTarget:
    scheme = url.partition("://")[0].lower()
    if scheme not in (*SENTINEL_SCHEMES, *CLUSTER_SCHEMES):
        return RedisTarget("single", url)
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    common: dict[str, Any] = {
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "options": options,
        "tls": scheme.startswith("rediss"),
    }
    unknown = sorted(set(options) - {*TLS_OPTIONS, "sentinel_password", "sentinel_username"})
    if unknown:
        raise RedisUrlError(
            f"unknown option {unknown[0]!r} (known: {', '.join(TLS_OPTIONS)}, sentinel_password, sentinel_username)"
        )
    if scheme in SENTINEL_SCHEMES:
        path = [p for p in parts.path.split("/") if p]
        if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
            raise RedisUrlError(f"{scheme}:// needs /SERVICE_NAME or /SERVICE_NAME/DB after the hosts")
        return RedisTarget(
            "sentinel",
            url,
            _hosts(parts.netloc, 26379),
            service=unquote(path[0]),
            db=int(path[1]) if len(path) == 2 else 0,
            **common,
        )
    if parts.path.strip("/"):
        raise RedisUrlError(f"a cluster has one database: {scheme}:// takes no /DB")
    return RedisTarget("cluster", url, _hosts(parts.netloc, 6379), **common)


def describe(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def redis_client(url: str, *, read_timeout: float = 15.0) -> Redis:
    """A pooled client that reconnects and retries a command on a dropped connection.

    Without the retry, every pooled connection that outlived a Redis restart
    (or a failover) fails once on its next use. A retried command may run
    twice if the reply was lost; the pipeline is at-least-once and its
    writes are idempotent.
    """
    target = parse_redis_url(url)
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": 5,
        "socket_timeout": read_timeout,
        "health_check_interval": 30,
    }
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3)
    if target.kind == "single":
        return Redis.from_url(
            url, retry=retry, retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError], **common
        )
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    tls = tls_kwargs(target)
    if target.kind == "sentinel":
        sentinel_auth = {
            "password": target.options.get("sentinel_password"),
            "username": target.options.get("sentinel_username"),
        }
        # redis-py types Sentinel's constructor from 8.2 on; older releases in the pinned range do not.
        sentinel = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
            target.hosts,
            sentinel_kwargs={"socket_connect_timeout": 2, "socket_timeout": 2, **sentinel_auth, **tls},
            socket_connect_timeout=2,
        )
        # Retried with a pause long enough to span a Sentinel failover's election
        # (down-after-milliseconds plus a second or two), then the caller's own retry takes over.
        master: _SentinelManaged = sentinel.master_for(
            target.service,
            redis_class=_SentinelManaged,
            db=target.db,
            retry=Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries=6),
            retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError, ReadOnlyError],
            **auth,
            **tls,
            **common,
        )
        master.sentinels = list(sentinel.sentinels)
        return master
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        retry=Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries=6),
        **auth,
        **tls,
        **{k: v for k, v in common.items() if k != "health_check_interval"},
    )
    # The cluster client offers the same commands as the single-server one; the
    # service is written against the latter's interface.
    return cast(Redis, cluster)


def tls_kwargs(target: RedisTarget) -> dict[str, Any]:
    """redis-py's TLS arguments for a ``rediss+...`` URL (none for a plain one)."""
    if not target.tls:
        return {}
    options = target.options
    out: dict[str, Any] = {"ssl": True, "ssl_cert_reqs": options.get("ssl_cert_reqs", "required")}
    for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
        if options.get(name):
            out[name] = options[name]
    if "ssl_check_hostname" in options:
        out["ssl_check_hostname"] = options["ssl_check_hostname"].lower() in ("1", "true", "yes")
    return out


def is_cluster(redis: Any) -> bool:
    return isinstance(redis, RedisCluster)
