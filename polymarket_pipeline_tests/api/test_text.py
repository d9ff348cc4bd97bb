"""Text made safe for storage (``clean``) and for messages and logs (``escape``)."""

from __future__ import annotations

import pytest

from polymarket_pipeline.api.text import clean, escape


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("  padded  ", "padded"),
        ("", None),
        (" \t\n ", None),
        ("a\x00b", "ab"),  # PostgreSQL refuses NUL in text
        ("line\r\nbreak", "line break"),
        ("tab\there", "tab here"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),  # ESC dropped: inert in any terminal
        ("lone \ud800 surrogate", "lone  surrogate"),  # unencodable as UTF-8
        ("Slovan Bratislava \u0160K \U0001f3c6", "Slovan Bratislava \u0160K \U0001f3c6"),
        ("\u202eevil", "\u202eevil"),  # format characters are text (RTL marks are legitimate)
    ],
)
def test_clean(raw: str, expected: str | None) -> None:
    assert clean(raw, 100) == expected


def test_clean_cuts_to_the_bound() -> None:
    assert clean("x" * 1500, 1000) == "x" * 1000
    assert clean("ab   cd", 4) == "ab"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ok", "ok"),
        ("two\nlines", "two\\nlines"),
        ("\x1b[2Jclear", "\\x1b[2Jclear"),
        ("back\\slash", "back\\\\slash"),
        ("bell\x07", "bell\\x07"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("sep\u2028line", "sep\\u2028line"),
        ("caf\u00e9", "caf\u00e9"),
    ],
)
def test_escape(raw: str, expected: str) -> None:
    assert escape(raw) == expected


def test_escape_cuts_long_text_and_reads_only_a_prefix() -> None:
    out = escape("\n" * 10_000_000, 300)
    assert len(out) <= 301
    assert out.endswith("…")
    assert set(out[:-1]) <= {"\\", "n"}
    assert escape("y" * 1000, 10) == "y" * 10 + "…"
    assert escape(12345) == "12345"
