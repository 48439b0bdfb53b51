"""Raw HTTP on a socket: the bytes a hostile client sends, which a well-behaved client library would refuse."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yarl import URL


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(
    base: str,
    method: str,
    path: str,
    *,
    headers: Sequence[tuple[str, bytes]] = (),
    body: bytes = b"",
    chunked: bool = False,
) -> RawResponse:
    """Send one request exactly as given (header values as raw bytes) and read the whole answer.

    ``chunked`` sends the body in chunks of 64 KiB with no Content-Length, as a
    stream would.
    """
    url = URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = [f"{method} {path} HTTP/1.1".encode(), f"Host: {url.host}:{url.port}".encode()]
    head += [name.encode() + b": " + value for name, value in headers]
    if chunked:
        head.append(b"Transfer-Encoding: chunked")
        pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}".encode())
    head.append(b"Connection: close")
    writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    head_bytes, _, rest = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    if parsed.get("Transfer-Encoding") == "chunked":
        rest = _unchunk(rest)
    return RawResponse(status, parsed, rest)


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out
