"""The descriptor and its Table Schemas: the single definition every other layer reads.

CONTRACT (implementation to be completed): `load_package(root)` reads `datapackage.json`
and each table resource's schema file, without touching the data files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class PackageError(Exception):
    """Input the toolkit cannot use at all (exit 2): broken JSON, missing schema file, ..."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.file, self.line = message, file, line


@dataclass(frozen=True)
class TableSpec:
    name: str
    path: str  # relative to the package root, POSIX style
    schema: dict  # the Table Schema, already loaded from schemas/<name>.json
    schema_path: str  # relative path of the schema file
    resource: dict  # the resource descriptor as written


@dataclass(frozen=True)
class TextSpec:
    name: str
    path: str
    resource: dict


@dataclass
class PackageSpec:
    root: Path
    descriptor: dict
    tables: dict[str, TableSpec] = field(default_factory=dict)
    texts: dict[str, TextSpec] = field(default_factory=dict)
