"""Every field defined once (schemas/fields.yaml); the Table Schemas in schemas/ are generated from it.

Why: `quote`, `source_id`, `qualifier` and a dozen more fields appear in most tables; written out
in each Table Schema they would drift apart. As PUDL does, the registry defines a shared field
once, and a table lists its fields by name:

    fields:                     # shared fields, defined once
      quote: {type: string, description: ..., constraints: {required: true, minLength: 1}}
    tables:
      market_size:
        fields:
          - figure_id           # a shared field as defined
          - metric: {constraints: {enum: [market_size]}}     # a shared field, with additions merged in
          - value: {type: number, unit: CNY million, ...}    # a field of this table only, in full
        primaryKey: [figure_id]
        foreignKeys: [...]

`cbj-figures schemas` writes schemas/<table>.json; the descriptor layer reports a stale one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from . import safeio
from .findings import Finding

REGISTRY = "schemas/fields.yaml"
TABLE_SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")  # schemas/<table>.json must stay in schemas/


class RegistryError(ValueError):
    """A registry that cannot be read, located at its line."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message, self.line = message, line


def _merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` merged in, nested mappings key by key (order: base keys first)."""
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


def document(root: Path) -> dict | None:
    """The registry as written (None when the package has none); RegistryError when it cannot be read."""
    try:
        text = safeio.read_inside(Path(root), REGISTRY, what="field registry").decode("utf-8")
        doc = safeio.load_yaml(text, file=REGISTRY)
    except FileNotFoundError:
        return None
    except (safeio.UnsafeInput, UnicodeDecodeError) as e:
        raise RegistryError(getattr(e, "message", str(e)), None) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise RegistryError(f"broken YAML: {e.problem or e.context}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise RegistryError(f"broken YAML: {e}", None) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), dict):
        raise RegistryError("the registry is a mapping with 'fields' and 'tables'", 1)
    return doc


def table_schemas(root: Path) -> dict[str, dict]:
    """The Table Schema of every table in the registry; {} when the package has no registry."""
    doc = document(root)
    if doc is None:
        return {}
    shared = doc.get("fields") or {}
    schemas = {}
    for table, spec in doc["tables"].items():
        if not isinstance(table, str) or not SAFE_NAME.match(table) or not isinstance(spec, dict):
            raise RegistryError(f"table {table!r} must be a safe name ([a-z0-9._-]) with a mapping of its fields")
        fields = []
        for item in spec.get("fields", []):
            if not (isinstance(item, str) or (isinstance(item, dict) and len(item) == 1)):
                raise RegistryError(f"table {table!r}: a field is a name, or one name with its properties")
            name, extra = (item, {}) if isinstance(item, str) else next(iter(item.items()))
            if name not in shared and not extra:
                raise RegistryError(f"table {table!r}: field {name!r} is neither shared nor defined here")
            fields.append({"name": name, **_merged(shared.get(name, {}), extra or {})})
        rest = {k: v for k, v in spec.items() if k not in ("fields",)}
        schemas[table] = {"$schema": TABLE_SCHEMA_PROFILE, "fields": fields, **rest}
    return schemas


def render(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_schemas(root: Path) -> list[str]:
    """Write schemas/<table>.json for every table of the registry; the paths written."""
    written = []
    for table, schema in table_schemas(root).items():
        rel = f"schemas/{table}.json"
        safeio.write(safeio.under(root, rel), render(schema))
        written.append(rel)
    return written


def stale_schemas(root: Path) -> list[Finding]:
    """Table Schemas that differ from what the registry generates (layer "descriptor")."""
    try:
        schemas = table_schemas(root)
    except RegistryError as e:
        return [Finding("registry-error", e.message, file=REGISTRY, line=e.line)]
    out = []
    for table, schema in schemas.items():
        rel = f"schemas/{table}.json"
        try:
            current = safeio.read_inside(Path(root), rel).decode("utf-8")
        except (FileNotFoundError, UnicodeDecodeError, safeio.UnsafeInput):
            current = None
        if current != render(schema):
            msg = f"{rel} is not what {REGISTRY} generates; run `cbj-figures schemas`"
            out.append(Finding("stale-schema", msg, file=rel))
    return out

