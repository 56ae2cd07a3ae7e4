"""The releases page: the changelog, and each release's cell-level diff against the one before.

The versions are those of the release index (`releases/index.json`, each release's zip kept in the
repository and checked against its hash), then the working package when it is newer: one function,
`release_history`, knows where they come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cbj_figures import releases as index
from cbj_figures.diff import Change, diff_packages
from cbj_figures.package import open_package
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


@contextmanager
def release_history(root: Path) -> Iterator[list[Version]]:
    """Every version of the package the site can show, oldest first, each as a package folder: the
    releases of the index (their kept zips, checked and extracted for as long as the context lasts),
    then the package itself when it is a version the index does not hold."""
    with ExitStack() as stack:
        out: list[Version] = []
        for release in index.read_index(root):  # oldest first
            _, folder = stack.enter_context(index.open_release(release.version, root))
            out.append(Version(release.version, folder, f"{index.FOLDER}/{release.version}"))
        current = open_package(root).version
        if current and all(v.version != current for v in out):
            out.append(Version(current, Path(root), "this package"))
        yield out


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
    entries = []
    with release_history(root) as history:
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
