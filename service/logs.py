"""The service's log lines: one record, one line, nothing a terminal would obey.

Log arguments carry feed names, URLs, titles and error messages that came
from outside; a CR/LF in one would forge a line of our own, an ESC sequence
would rewrite the operator's terminal. The formatter shows every control
character of a message as an escape (see notifiers/printable.py); tracebacks
keep their line breaks and lose the rest.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import TextIO

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


def configure_logging(
    level: str | int, *, stream: TextIO | None = None, root: logging.Logger | None = None
) -> logging.Handler:
    """Log to ``stream`` (stderr) through the printable formatter; returns the handler added."""
    logger = root or logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(PrintableFormatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
