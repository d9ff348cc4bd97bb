"""The documentation holds together: every relative link resolves, and the README stays short.

A link ``[text](target)`` in one of the project's Markdown documents must point at a file (or
folder) that exists, and a ``#anchor`` (alone, or after a ``.md`` file) at a heading of that
document, named by GitHub's rules: lower-case, spaces to ``-``, punctuation dropped, a repeated
heading suffixed ``-1``, ``-2``… Links inside code (fenced blocks and backtick spans) are not
links; absolute URLs (``https:``, ``mailto:``) are not checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 350

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def documents() -> list[Path]:
    """The Markdown documents whose links must resolve."""
    docs = sorted((ROOT / "docs").glob("*.md"))
    return [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        *docs,
        ROOT / "bench" / "README.md",
        ROOT / "polymarket_pipeline_tests" / "README.md",
    ]


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FENCE.match(line)
        if fence is None:
            if opened:
                fence = opened.group(1)
                continue
            yield number, line
        elif opened and opened.group(1) == fence:
            fence = None


def heading_text(raw: str) -> str:
    """A heading's text as rendered: links reduced to their text, backticks and ``*`` emphasis gone."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return text.replace("`", "").replace("*", "")


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading (before de-duplication)."""
    text = heading_text(heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and "_" (Unicode too)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a document defines, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        slug = anchor(match.group(2))
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 0
        found.add(slug)
    return found


def blank(match: re.Match[str]) -> str:
    """The matched text as spaces, its line breaks kept (so offsets still give line numbers)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every Markdown link outside code; a link's text may wrap lines."""
    lines = [""] * len(text.splitlines())
    for number, line in prose_lines(text):
        lines[number - 1] = line
    prose = CODE_SPAN.sub(blank, "\n".join(lines))
    for match in LINK.finditer(prose):
        yield prose.count("\n", 0, match.start()) + 1, match.group(1)


def broken_links(document: Path) -> list[str]:
    """What is wrong with the relative links of one document (empty when all resolve)."""
    text = document.read_text(encoding="utf-8")
    problems: list[str] = []
    where = document.relative_to(ROOT) if document.is_relative_to(ROOT) else document
    for number, target in links(text):
        if not target or SCHEME.match(target) or target.startswith("//"):
            continue
        path_part, _, fragment = target.partition("#")
        if path_part.startswith("/"):
            problems.append(f"{where}:{number}: {target}: absolute path (use a relative link)")
            continue
        destination = (document.parent / path_part).resolve() if path_part else document
        if not destination.exists():
            problems.append(f"{where}:{number}: {target}: no such file")
            continue
        if fragment:
            if destination.is_dir() or destination.suffix.lower() != ".md":
                problems.append(f"{where}:{number}: {target}: an anchor into a file that is not Markdown")
            elif fragment not in anchors(destination.read_text(encoding="utf-8")):
                problems.append(f"{where}:{number}: {target}: no heading #{fragment} in {destination.name}")
    return problems


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("What changed in this release", "what-changed-in-this-release"),
        ("Hot path: feed first", "hot-path-feed-first"),
        ("Controlling it (`/_sim`, `SimulatorAdmin`)", "controlling-it-_sim-simulatoradmin"),
        ("0.1.0 — issues 8\u201310", "010--issues-810"),  # an en dash, dropped like the em dash
        ("Toward every Polymarket wallet (~1 M)", "toward-every-polymarket-wallet-1-m"),
        ("`integrations run`", "integrations-run"),
        ("Dependencies and why", "dependencies-and-why"),
        ("See [the docs](docs/design.md) **now**", "see-the-docs-now"),
    ],
)
def test_anchor_follows_githubs_rules(heading: str, expected: str) -> None:
    assert anchor(heading) == expected


def test_repeated_headings_are_numbered_and_code_is_not_a_heading() -> None:
    text = "# Notes\n\n## Notes\n\n```bash\n# not a heading\n```\n\n### Notes\n"
    assert anchors(text) == {"notes", "notes-1", "notes-2"}


def test_the_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A section\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Doc\n\n"
        "[ok](other.md) [ok](other.md#a-section) [ok](#doc) [web](https://example.com/x.md)\n"
        "`[in code](missing.md)`\n\n```\n[in a block](missing.md)\n```\n"
        "[gone](missing.md) [bad anchor](other.md#no-such) [bad local](#nowhere) [abs](/etc/passwd)\n"
        "a link whose text [wraps\nlines](wrapped.md#x)\n",
        encoding="utf-8",
    )
    problems = broken_links(doc)
    assert len(problems) == 5, problems
    assert "doc.md:9: missing.md: no such file" in problems[0]
    assert "no heading #no-such in other.md" in problems[1]
    assert "no heading #nowhere in doc.md" in problems[2]
    assert "absolute path" in problems[3]
    assert "doc.md:10: wrapped.md#x: no such file" in problems[4]


def test_the_documents_exist() -> None:
    missing = [str(doc.relative_to(ROOT)) for doc in documents() if not doc.is_file()]
    assert not missing
    assert len(documents()) > 5, "docs/ holds the documents the README links"


@pytest.mark.parametrize("document", documents(), ids=lambda doc: str(doc.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_readme_links_every_doc() -> None:
    linked = {target.partition("#")[0] for _, target in links((ROOT / "README.md").read_text("utf-8"))}
    unlinked = [
        str(doc.relative_to(ROOT)) for doc in documents()[1:] if str(doc.relative_to(ROOT)) not in linked
    ]
    assert not unlinked, "the README's map of the docs names every document"


def test_readme_stays_short() -> None:
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"
