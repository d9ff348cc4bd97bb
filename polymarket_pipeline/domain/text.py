"""Text that came from outside, made safe for logs, metadata and the database."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str, limit: int = 500) -> str:
    """One line, control characters (NUL, ANSI escapes, newlines) shown as escapes, bounded length.

    An error message quoting a hostile body must not forge log lines, colour a terminal or fill a
    disk: everything non-printable becomes ``\\xNN``/``\\n`` and the result is cut at ``limit``.
    """
    escaped = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return escaped if len(escaped) <= limit else escaped[: max(0, limit - 3)] + "..."
