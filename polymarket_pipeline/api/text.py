"""Making upstream text safe: for storage (``clean``) and for messages and logs (``escape``).

The upstream is hostile: a title may carry a NUL (PostgreSQL rejects it in ``text``), a lone
surrogate (unencodable as UTF-8), or megabytes of ANSI codes and newlines that forge log lines.
``clean`` keeps what a user reads and drops what breaks a write; ``escape`` shows everything,
but as inert escapes on one line, so a server can never write to our logs in its own words.
"""

from __future__ import annotations

import re
import unicodedata

ERROR_TEXT_LIMIT = 300
"""Server-provided text in exceptions, logs, metadata and the database is cut to this many chars."""

_WHITESPACE_CONTROLS = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]+")
_REMOVED = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
"""C0/C1 controls (bar the whitespace ones, which become one space) and lone surrogates."""


def clean(value: str, max_chars: int) -> str | None:
    """Text fit to store: controls removed, whitespace controls as one space, cut, ``""`` -> None."""
    text = _REMOVED.sub("", _WHITESPACE_CONTROLS.sub(" ", value)).strip()
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
    return text or None


def _escape_char(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if char == "\\":
        return "\\\\"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _needs_escape(char: str) -> bool:
    # Cc: controls (ESC starts ANSI sequences), Cf: format (bidi overrides), Zl/Zp: line breaks,
    # Cs: lone surrogates; the backslash too, so an escape in the text cannot pass for ours.
    return char == "\\" or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs"}


def escape(value: object, limit: int = ERROR_TEXT_LIMIT) -> str:
    """One inert line of at most ``limit`` characters (plus an ellipsis) for messages and logs.

    Control characters, newlines, ANSI escape sequences (their ESC byte) and bidi overrides are
    shown as ``\\n``, ``\\x1b``, ``\\u202e``…, so a server's text cannot start a log line, colour a
    terminal or reorder what a reader sees. Only the first ``4 * limit`` characters are looked
    at, so a multi-megabyte body costs no more than a short one.
    """
    text = value if isinstance(value, str) else str(value)
    head = text[: 4 * limit]
    out: list[str] = []
    size = 0
    for char in head:
        piece = _escape_char(char) if _needs_escape(char) else char
        if size + len(piece) > limit:
            return "".join(out) + "…"
        out.append(piece)
        size += len(piece)
    return "".join(out) + ("…" if len(text) > len(head) else "")
