"""docs/data-dictionary.md, generated from the descriptor and the Table Schemas.

Readers get every table and field with type, unit, constraints and both descriptions without
reading JSON; generating it (and failing CI when it is stale) keeps it from drifting.
"""

from __future__ import annotations

import json
from pathlib import Path

from cbj_figures import escape, safeio
from cbj_figures.constraints import CONSTRAINTS
from cbj_figures.package import Package, Resource, open_package
from cbj_figures.schema import as_list

TARGET = Path("docs") / "data-dictionary.md"
HEADER = "<!-- Generated from datapackage.json and schemas/ by `cbj-figures dictionary`; do not edit by hand. -->"


def _cell(text: object) -> str:
    """Markdown text (a table cell, a paragraph): one line, its Markdown syntax escaped (escape.markdown)."""
    return escape.markdown(" ".join(str(text).split())) if text not in (None, "") else ""


def _code(text: object) -> str:
    return escape.code_span(" ".join(str(text).split()))


def _constraints(field: dict) -> str:
    """Each constraint as the registry describes it, in its order; one it does not know as written."""
    c = field.get("constraints") or {}
    parts = [text for rule, spec in CONSTRAINTS.items() if rule in c and (text := spec.describe(c[rule]))]
    parts += [f"{rule} {_code(json.dumps(c[rule], ensure_ascii=False))}" for rule in sorted(set(c) - set(CONSTRAINTS))]
    return "; ".join(parts)


def _unit(field: dict) -> str:
    unit = _cell(field.get("unit", ""))
    links = [f"{k} in {_code(field[k])}" for k in ("printed", "qualifier") if field.get(k)]
    return unit + (f" ({', '.join(links)})" if links else "")


def _type(field: dict) -> str:
    fmt = field.get("format")
    return _cell(str(field.get("type", "string")) + (f" ({fmt})" if fmt and fmt != "default" else ""))


def _table(pkg: Package, spec: Resource) -> list[str]:
    res, schema = spec.descriptor, spec.schema.descriptor
    title = " / ".join(_cell(res[k]) for k in pkg.translated("title") if res.get(k))
    lines = [f"## {_code(spec.name)}" + (f" — {title}" if title else ""), ""]
    for key in pkg.translated("description"):
        if res.get(key):
            lines += [_cell(res[key]), ""]
    lines.append(f"- file: {_code(spec.path)}; schema: {_code(spec.schema_file or 'inline')}")
    if schema.get("primaryKey"):
        lines.append("- primary key: " + ", ".join(_code(k) for k in as_list(schema["primaryKey"])))
    for fk in schema.get("foreignKeys", []):
        ref = fk.get("reference", {})
        target = ref.get("resource") or spec.name
        refs = ", ".join(f"{target}.{f}" for f in as_list(ref.get("fields")))
        lines.append(f"- foreign key: {', '.join(_code(f) for f in as_list(fk.get('fields')))} → {_code(refs)}")
    if "missingValues" in schema:
        values = [v["value"] if isinstance(v, dict) else v for v in schema["missingValues"]]
        lines.append("- missing values: " + ", ".join(_code(f'"{v}"') if v else '`""` (empty)' for v in values))
    described = pkg.translated("description")
    heads = ["#", "field", "type", "unit", "constraints", *(k.replace("_", " (") + ")" * ("_" in k) for k in described)]
    lines += ["", "| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for i, f in enumerate(schema["fields"], 1):
        row = [str(i), _code(f["name"]), _type(f), _unit(f), _constraints(f), *(_cell(f.get(k, "")) for k in described)]
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


def render_dictionary(root: str | Path = ".") -> str:
    """The whole dictionary as Markdown; depends only on the descriptor and schemas, not on the rows."""
    pkg: Package = open_package(Path(root))
    d = pkg.descriptor
    lines = [HEADER, "", f"# Data dictionary: {_cell(d.get('title', d.get('name')))}", ""]
    lines += [f"Package {_code(d.get('name'))}, version {_cell(d.get('version'))}: {len(pkg.tables)} tables.", ""]
    lines += ["| table | title | description |", "|---|---|---|"]
    for spec in pkg.tables.values():
        title = " / ".join(_cell(spec.descriptor[k]) for k in pkg.translated("title") if spec.descriptor.get(k))
        lines.append(f"| {_code(spec.name)} | {title} | {_cell(spec.descriptor.get('description'))} |")
    lines.append("")
    for spec in pkg.tables.values():
        lines += _table(pkg, spec)
    if pkg.texts:
        lines += ["## Source texts", ""]
        for text in pkg.texts.values():
            about = " — ".join(_cell(text.descriptor[k]) for k in ("title", "description") if text.descriptor.get(k))
            lines.append(f"- {_code(text.name)} ({_code(text.path)}): {about}")
        lines.append("")
    return "\n".join(lines)


def write_dictionary(root: str | Path = ".") -> Path:
    """Regenerate docs/data-dictionary.md; returns its path."""
    return safeio.write(safeio.under(root, TARGET), render_dictionary(root))


def dictionary_is_fresh(root: str | Path = ".") -> bool:
    """True when docs/data-dictionary.md is exactly what the schemas generate (a CI check)."""
    try:
        return safeio.read_inside(Path(root), TARGET.as_posix()).decode("utf-8") == render_dictionary(root)
    except (FileNotFoundError, UnicodeDecodeError, safeio.UnsafeInput):
        return False
