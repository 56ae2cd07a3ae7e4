"""The releases page: the changelog, and each release's cell-level diff against the one before.

Why one function for the list of versions (`release_history`): today the repository keeps only the
last release (`releases/last/`) beside the working package; when every release is indexed, only that
function changes, and the page lists them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cbj_figures.diff import LAST_RELEASE, Change, diff_packages
from cbj_figures.package import PackageError, open_package
from cbj_figures.site.model import read_page

_HEADING = re.compile(r"^## \[([^\]]+)\](?:\s*-\s*(\S+))?\s*$", re.M)


@dataclass(frozen=True)
class Version:
    version: str
    root: Path  # a package folder holding exactly that version
    where: str  # how the page names it (`releases/last`, `this package`)


@dataclass
class ReleaseEntry:
    version: str
    date: str
    notes: str  # the changelog section, as Markdown
    previous: str | None = None
    bump: str = ""
    changes: list[Change] = field(default_factory=list)
    summary: dict[str, dict[str, int]] = field(default_factory=dict)


def release_history(root: Path) -> list[Version]:
    """Every version of the package the site can show, oldest first: the recorded last release, then the
    package itself (when it is a newer version)."""
    out: list[Version] = []
    last = Path(root) / LAST_RELEASE
    if (last / "datapackage.json").is_file():
        try:
            version = open_package(last).version
        except PackageError:
            version = None
        if version:
            out.append(Version(version, last, LAST_RELEASE.as_posix()))
    current = open_package(root).version
    if current and all(v.version != current for v in out):
        out.append(Version(current, Path(root), "this package"))
    return out


def changelog(text: str | None) -> dict[str, tuple[str, str]]:
    """version -> (date, the section's Markdown), from `## [x.y.z] - date` headings."""
    if not text:
        return {}
    heads = list(_HEADING.finditer(text))
    out = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out[m[1]] = (m[2] or "", text[m.end():end].strip())
    return out


def preamble(text: str | None) -> str:
    """The changelog before its first release (how versions are numbered), without its title."""
    if not text:
        return ""
    first = _HEADING.search(text)
    head = text[: first.start()] if first else text
    return re.sub(r"^# .*\n", "", head, count=1).strip()


def releases(root: Path) -> list[ReleaseEntry]:
    """Newest first: each version's changelog section and its diff against the version before."""
    root = Path(root)
    notes = changelog(read_page(root, "CHANGELOG.md"))
    history = release_history(root)
    entries = []
    for i, v in enumerate(history):
        date, text = notes.get(v.version, ("", ""))
        entry = ReleaseEntry(v.version, date, text)
        if i > 0:
            prev = history[i - 1]
            result = diff_packages(open_package(prev.root), open_package(v.root))
            entry.previous, entry.bump = prev.version, result.bump
            entry.changes, entry.summary = result.changes, result.table_summary()
        entries.append(entry)
    listed = {e.version for e in entries}
    for version, (date, text) in notes.items():  # releases the changelog records but the repository does not keep
        if version not in listed:
            entries.append(ReleaseEntry(version, date, text))
    return sorted(entries, key=lambda e: _key(e.version), reverse=True)


def _key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", version))
