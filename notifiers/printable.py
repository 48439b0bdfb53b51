"""Text that is safe to show on a terminal or write to a log: no control characters.

Feed content, pushed articles and API input reach the console notifier and
the logs. A terminal obeys the control characters in what it prints (ESC
starts sequences that set the window title, clear the screen, move the
cursor; a CR or LF starts what looks like a line of our own), so none of
them may pass: C0, DEL and C1 (0x9B is a one-byte CSI on some terminals),
and the bidirectional overrides that reorder what the eye reads.
"""

from __future__ import annotations

# C0 except the whitespace that text folds anyway, DEL and C1.
CONTROL_CODES: frozenset[int] = frozenset([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)])
# Explicit embeddings, overrides and isolates (Trojan Source): harmless in stored
# text, where right-to-left languages need them, but misleading on a log line.
BIDI_CODES: frozenset[int] = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# For str.translate: each control character as a visible escape (ESC -> "\x1b").
_ESCAPED = {c: f"\\x{c:02x}" for c in CONTROL_CODES} | {c: f"\\u{c:04x}" for c in BIDI_CODES}


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape, so it stays on one line and does nothing."""
    return text.translate(_ESCAPED)


def one_line(text: str) -> str:
    """``text`` on one line: control characters dropped, runs of whitespace (line breaks too) made one space."""
    return " ".join(text.translate(_DROPPED).split())


# Line breaks and tabs become spaces; every other control character goes.
_DROPPED: dict[int, str | None] = {c: None for c in CONTROL_CODES} | {
    c: " " for c in (0x09, 0x0A, 0x0D, 0x85)
}
