"""A real SMTP server (aiosmtpd) on loopback, with TLS from a throwaway CA, that records what it accepts."""

from __future__ import annotations

import email
import email.policy
import gc
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller

from notifiers.email import SmtpConfig
from service.embedded_redis import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool


@dataclass
class Recorder:
    """aiosmtpd handler: accepts mail, unless told to answer RCPT or DATA with a given reply."""

    mails: list[Mail] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    data_seen: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.data_seen.append(message)
        if self.data_replies:
            return self.data_replies.pop(0)
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, tls))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    recorder: Recorder
    port: int
    ca_file: Path

    def config(self, security: str = "starttls", **overrides: Any) -> SmtpConfig:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": security,
            "sender": "alerts@geoalert.test",
            "ca_file": str(self.ca_file),
            "timeout": 5.0,
            "domain": "geoalert.test",
        }
        values.update(overrides)
        return SmtpConfig(**values)


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def _serve(mode: str, tls_ca: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    context, ca_file = tls_ca
    recorder = Recorder()
    port = free_port()
    options: dict[str, Any] = {}
    if mode == "starttls":
        options = {"tls_context": context, "require_starttls": True}
    elif mode == "tls":
        options = {"ssl_context": context}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(recorder, port, ca_file)
    finally:
        controller.stop()
        # aiosmtpd leaves the sockets it accepted (and upgraded with STARTTLS) to the garbage
        # collector; collect them here, as the test server's own leftovers, so their
        # ResourceWarning is not blamed on whichever test happens to run next.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


@pytest.fixture
def smtp_starttls(tls_ca: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    """A server that offers (and requires) STARTTLS."""
    yield from _serve("starttls", tls_ca)


@pytest.fixture
def smtp_plain(tls_ca: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    """A server with no TLS at all."""
    yield from _serve("plain", tls_ca)


@pytest.fixture
def smtp_tls(tls_ca: tuple[ssl.SSLContext, Path]) -> Iterator[SmtpServer]:
    """A server that speaks TLS from the first byte (port 465 style)."""
    yield from _serve("tls", tls_ca)
