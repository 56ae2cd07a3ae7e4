"""A small valid package written from scratch: one table, its schema file and registry, a changelog.

For the attacks that need a package every writing command accepts (build, site, export, schemas,
dictionary, errors, citation, rehash, record-release) without copying the whole repository's one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NAME, VERSION = "small", "1.0.0"
RELEASE = f"{NAME}-{VERSION}"
FIELDS = [{"name": "id", "type": "string"}, {"name": "v", "type": "integer"}]
REGISTRY = """fields:
  id: {type: string}
tables:
  t:
    fields:
    - id
    - v: {type: integer}
    primaryKey: [id]
"""


def small_package(dest: Path, *, title: str = "Small", rows: list[list[str]] | None = None,
                  fields: list[dict] | None = None, path: str = "data/t.csv", changelog: str = "First release.",
                  **extra: Any) -> Path:
    """The package in `dest` (created), valid in every layer; `extra` goes into the descriptor."""
    fields = fields or FIELDS
    rows = rows if rows is not None else [["a", "1"], ["b", "2"]]
    (dest / Path(path).parent).mkdir(parents=True, exist_ok=True)
    (dest / "schemas").mkdir(parents=True, exist_ok=True)
    header = ",".join(_csv(f["name"]) for f in fields)
    (dest / path).write_text(header + "\n" + "".join(",".join(map(_csv, r)) + "\n" for r in rows), encoding="utf-8")
    schema = {"fields": fields, "primaryKey": ["id"]}
    (dest / "schemas" / "t.json").write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (dest / "schemas" / "fields.yaml").write_text(REGISTRY, encoding="utf-8")
    descriptor = {
        "name": NAME,
        "version": VERSION,
        "title": title,
        "homepage": "https://github.com/example/small",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"}],
        "contributors": [{"title": "Someone", "roles": ["creator"]}],
        "resources": [{"name": "t", "path": path, "schema": "schemas/t.json"}],
        **extra,
    }
    (dest / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
                                           encoding="utf-8")
    (dest / "CHANGELOG.md").write_text(f"# Changelog\n\n## {VERSION} - 2024-01-01\n\n{changelog}\n", encoding="utf-8")
    return dest


def _csv(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell
