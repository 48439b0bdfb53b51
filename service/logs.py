"""The service's log lines: one record, one line, nothing a terminal would obey.

Log arguments carry feed names, URLs, titles and error messages that came
from outside; a CR/LF in one would forge a line of our own, an ESC sequence
would rewrite the operator's terminal. The formatter shows every control
character of a message as an escape (see notifiers/printable.py); tracebacks
keep their line breaks and lose the rest.

GEOALERT_LOG_FORMAT=json writes one JSON object per line instead, for log
shippers; JSON string escaping keeps the control characters inert there.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from notifiers.printable import printable

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PrintableFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))

    def formatException(self, ei: ExcInfo) -> str:
        return _lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _lines(super().formatStack(stack_info))


def _lines(text: str) -> str:
    return "\n".join(printable(line) for line in text.split("\n"))


def json_formatter() -> logging.Formatter:
    # Field names that Loki, Elasticsearch and Datadog pick up without mapping.
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
        json_ensure_ascii=False,
    )


def configure_logging(
    level: str | int,
    *,
    stream: TextIO | None = None,
    root: logging.Logger | None = None,
    fmt: str = "text",
) -> logging.Handler:
    """Log to ``stream`` (stderr) as printable text lines or JSON objects; returns the handler added."""
    logger = root or logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else PrintableFormatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
