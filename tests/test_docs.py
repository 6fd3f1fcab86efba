"""The documentation: the MkDocs site builds with --strict, nothing links outside the repository, and the
README stays short with every figure it keeps linked to the measurements page.

The link rule: outside code, README.md and the pages under docs/ contain no URL at all (no `scheme://`,
no `www.`), and every Markdown or HTML link target is a relative path; README targets must exist in the
repository (and their anchors in the file they point to). Inside code blocks and inline code, an http(s)
URL may only name this machine (localhost, 127.0.0.1, 0.0.0.0, [::1]) — the addresses of examples such
as `mkdocs serve` or `edgeyolo serve`. The built site is checked too: no href or src leaves it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MEASUREMENTS = "docs/measurements.md"
README_MAX_LINES = 300

FENCE = re.compile(r"^ *(```|~~~).*?^ *\1[^\n]*$", re.M | re.S)
INLINE_CODE = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://|\bwww\.", re.I)
HTTP_URL = re.compile(r"https?://(\[[^\]]+\]|[^/:\s`'\"<>)]+)", re.I)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "[::1]"}
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)|\]:\s*(\S+)")
HTML_TARGET = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.I)
# A measured figure: a number with a unit of time, speed, size, throughput or power, or a score like 0.7486.
FIGURE = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?\s?(?:ms|s|×|x|%|img/s|fps|kB|MB|GB|MiB|GiB|W|mJ)(?![\w/])|(?<![\w.])0\.\d{3,}"
)


def markdown_files() -> list[Path]:
    return [README, *sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)]


def without_code(text: str) -> str:
    return INLINE_CODE.sub("", FENCE.sub("", text))


def code_parts(text: str) -> list[str]:
    fences = [m.group(0) for m in FENCE.finditer(text)]
    return fences + [m.group(0) for m in INLINE_CODE.finditer(FENCE.sub("", text))]


def github_slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def mkdocs_slug(heading: str) -> str:
    text = re.sub(r"[^\w\s-]", "", heading).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [re.sub(r"`", "", m.group(1)).strip() for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)]


def build_site(out: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_the_site_builds_strict_and_links_nowhere_outside(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = build_site(site)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = list(site.rglob("*.html"))
    assert (site / "index.html").is_file() and (site / "api" / "index.html").is_file()
    # the API page really holds the docstrings (mkdocstrings found the package, mapped folders included)
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("edgeyolo.export.export", "edgeyolo.runtime.Detector", "edgeyolo.models.create_model"):
        assert name in api, name
    outside = [
        (page.relative_to(site).as_posix(), target)
        for page in pages
        for target in HTML_TARGET.findall(page.read_text(encoding="utf-8"))
        if URL.match(target) or target.startswith("//")
    ]
    assert outside == []


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_page_links_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    prose = without_code(text)
    assert URL.findall(prose) == [], "a URL outside code"
    targets = [a or b for a, b in LINK_TARGET.findall(prose)] + HTML_TARGET.findall(prose)
    assert [t for t in targets if t.startswith(("/", "\\")) or URL.match(t)] == []
    hosts = [h.lower() for part in code_parts(text) for h in HTTP_URL.findall(part)]
    assert [h for h in hosts if h not in LOCAL_HOSTS] == [], "an http(s) URL in code that is not this machine"


def test_readme_links_resolve_inside_the_repository() -> None:
    prose = without_code(README.read_text(encoding="utf-8"))
    broken = []
    for a, b in LINK_TARGET.findall(prose):
        file, _, anchor = (a or b).partition("#")
        target = (README.parent / file).resolve() if file else README
        if not target.is_relative_to(ROOT) or not target.exists():
            broken.append(a or b)
        elif anchor and target.suffix == ".md":
            names = headings(target)
            if anchor not in {github_slug(h) for h in names} or anchor not in {mkdocs_slug(h) for h in names}:
                broken.append(a or b)
    assert broken == []


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"


def readme_blocks() -> list[str]:
    """README outside code, cut into paragraphs, list items and table rows."""
    blocks: list[str] = []
    for paragraph in re.split(r"\n\s*\n", FENCE.sub("", README.read_text(encoding="utf-8"))):
        current: list[str] = []
        for line in paragraph.splitlines():
            if line.startswith("|") or re.match(r"\s*(?:[-*]|\d+\.)\s", line):
                if current:
                    blocks.append("\n".join(current))
                current = [line]
                if line.startswith("|"):
                    blocks.append(line)
                    current = []
            else:
                current.append(line)
        if current:
            blocks.append("\n".join(current))
    return blocks


def test_every_figure_the_readme_keeps_links_to_the_measurements_page() -> None:
    unlinked = [
        block
        for block in readme_blocks()
        if FIGURE.search(INLINE_CODE.sub("", block)) and f"]({MEASUREMENTS}" not in block
    ]
    assert unlinked == []
    assert any(FIGURE.search(block) for block in readme_blocks()), "the figure check found no figure at all"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("2.06× faster", True),
        ("runs at 0.7486 mAP", True),
        ("took 12.5 ms", True),
        ("`--iters 100` and `torch==2.13.0`", False),
        ("640x480 frames, exit 2, Python ≥ 3.10", False),
    ],
)
def test_the_figure_check_tells_figures_from_other_numbers(text: str, found: bool) -> None:
    assert bool(FIGURE.search(INLINE_CODE.sub("", text))) is found
