"""The Table Schema, parsed once into typed records every layer and generator reads.

Why: the constraint vocabulary used to be walked again by each layer and each generator. Here a
schema is read once, leniently: a malformed part (a key written as a number, an `enum` that is
not a list, a bound that is not of the field's type) becomes a finding and is left out, so one
bad property never stops the rest of the table from being checked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cbj_figures.constraints import CONSTRAINTS, supported
from cbj_figures.findings import Finding
from cbj_figures.safeio import MAX_FIELDS
from cbj_figures.types import TYPES, FieldType

FIELDS_MATCH = ("exact", "equal", "subset", "superset", "partial")
DEFAULT_MISSING = ("",)


def as_list(value: object) -> list:
    """Keys may be written as a string (v1 and v2) or a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value) if isinstance(value, list) else [value]


def missing_values(value: object) -> tuple[str, ...] | None:
    """`missingValues`: strings (v1) or `{"value": ...}` objects (v2); None when malformed."""
    if not isinstance(value, list):
        return None
    out = []
    for v in value:
        if isinstance(v, dict) and isinstance(v.get("value"), str):
            out.append(v["value"])
        elif isinstance(v, str):
            out.append(v)
        else:
            return None
    return tuple(out)


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    format: str
    constraints: dict[str, Any]  # only the well-formed constraints the type supports
    missing_values: tuple[str, ...]
    descriptor: dict = field(repr=False)  # as written, custom properties included (unit, printed, ...)

    @property
    def kind(self) -> FieldType:
        return TYPES[self.type]

    def get(self, key: str, default: Any = None) -> Any:
        return self.descriptor.get(key, default)

    @property
    def required(self) -> bool:
        return self.constraints.get("required") is True

    @property
    def unique(self) -> bool:
        return self.constraints.get("unique") is True

    @functools.cached_property
    def reader(self) -> Callable[[Any], Any]:
        """frictionless-py's own reader of this field's values (None where a value is not of the type)."""
        from frictionless import Field as FrictionlessField

        descriptor = {k: v for k, v in self.descriptor.items() if k not in ("constraints", "missingValues")}
        return FrictionlessField.from_descriptor(descriptor).create_value_reader()


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str  # "" = this table
    ref_fields: tuple[str, ...]


@dataclass(frozen=True)
class Schema:
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    fields_match: str = "exact"
    missing_values: tuple[str, ...] = DEFAULT_MISSING
    descriptor: dict = field(default_factory=dict, repr=False)
    file: str = ""  # where it was read from, relative to the package root
    inferred: bool = False

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def get(self, key: str, default: Any = None) -> Any:
        return self.descriptor.get(key, default)


def parse_schema(descriptor: Any, file: str, *, where: str = "$") -> tuple[Schema | None, list[Finding]]:
    """A Schema and the findings about what had to be left out; None when there are no usable fields."""
    out: list[Finding] = []

    def bad(message: str, path: str) -> None:
        out.append(Finding("schema-error", message, file=file, field=path, layer="descriptor"))

    if not isinstance(descriptor, dict):
        bad("a Table Schema must be an object", where)
        return None, out
    raw_fields = descriptor.get("fields")
    if not isinstance(raw_fields, list):
        bad('a Table Schema needs a "fields" list', f"{where}.fields")
        return None, out
    if len(raw_fields) > MAX_FIELDS:
        out.append(Finding("too-large", f"the schema has {len(raw_fields):,} fields; the limit is {MAX_FIELDS:,}: the "
                           "rest are not read", file=file, field=f"{where}.fields[{MAX_FIELDS}]", layer="descriptor"))
        del raw_fields[MAX_FIELDS:]  # bounded from here on, in the descriptor every layer reads too
    schema_missing = missing_values(descriptor.get("missingValues", list(DEFAULT_MISSING)))
    if schema_missing is None:
        bad("missingValues must be a list of strings or {value} objects", f"{where}.missingValues")
        schema_missing = DEFAULT_MISSING
    fields: list[Field] = []
    for i, raw in enumerate(raw_fields):
        path = f"{where}.fields[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            bad('every field must be an object with a string "name"', path)
            return None, out
        parsed = _parse_field(raw, schema_missing, path, out, file)
        if parsed is None:
            return None, out
        fields.append(parsed)
    names = [f.name for f in fields]

    def keys(value: Any, path: str) -> tuple[str, ...] | None:
        listed = as_list(value)
        if not all(isinstance(k, str) for k in listed):
            bad(f"a key must name fields by their names (a string or a list of strings), got {value!r}", path)
            return None
        if unknown := [k for k in listed if k not in names]:
            bad(f"key field(s) {', '.join(map(repr, unknown))} are not fields of the schema", path)
            return None
        return tuple(listed)

    pk = keys(descriptor.get("primaryKey"), f"{where}.primaryKey") or ()
    fks = []
    raw_fks = descriptor.get("foreignKeys", [])
    if not isinstance(raw_fks, list):
        bad("foreignKeys must be a list", f"{where}.foreignKeys")
        raw_fks = []
    for i, fk in enumerate(raw_fks):
        path = f"{where}.foreignKeys[{i}]"
        ref = fk.get("reference") if isinstance(fk, dict) else None
        if not isinstance(ref, dict):
            bad('a foreign key is an object with "fields" and a "reference"', path)
            continue
        own = keys(fk.get("fields"), f"{path}.fields")
        target = ref.get("resource", "")
        theirs = as_list(ref.get("fields"))
        if own is None or not isinstance(target, str) or not all(isinstance(k, str) for k in theirs):
            if own is not None:
                bad("a foreign key reference names a resource and its fields by name", f"{path}.reference")
            continue
        if len(own) != len(theirs) or not own:
            bad("a foreign key's fields and reference fields differ in number", path)
            continue
        fks.append(ForeignKey(own, target, tuple(theirs)))
    unique_keys = []
    raw_uks = descriptor.get("uniqueKeys", [])
    for i, uk in enumerate(raw_uks if isinstance(raw_uks, list) else [raw_uks]):
        if (parsed_key := keys(uk, f"{where}.uniqueKeys[{i}]")) is not None and parsed_key:
            unique_keys.append(parsed_key)
    fields_match = descriptor.get("fieldsMatch", "exact")
    if fields_match not in FIELDS_MATCH:
        bad(f"fieldsMatch must be one of {', '.join(FIELDS_MATCH)}", f"{where}.fieldsMatch")
        fields_match = "exact"
    schema = Schema(
        tuple(fields), pk, tuple(fks), tuple(unique_keys), fields_match, schema_missing, descriptor, file
    )
    return schema, out


def _parse_field(raw: dict, schema_missing: tuple[str, ...], path: str, out: list[Finding], file: str) -> Field | None:
    def bad(message: str, where: str = path) -> None:
        out.append(Finding("field-error", message, file=file, field=where, layer="descriptor"))

    kind = raw.get("type", "string")
    if kind not in TYPES:
        bad(f"field {raw['name']!r} has an unknown type {kind!r}", f"{path}.type")
        return None
    fmt = raw.get("format", "default")
    if not isinstance(fmt, str):
        bad(f"field {raw['name']!r}: format must be a string", f"{path}.format")
        return None
    own_missing = missing_values(raw["missingValues"]) if "missingValues" in raw else schema_missing
    if own_missing is None:
        bad(f"field {raw['name']!r}: missingValues must be a list of strings", f"{path}.missingValues")
        own_missing = schema_missing
    constraints = raw.get("constraints", {})
    if not isinstance(constraints, dict):
        bad(f"field {raw['name']!r}: constraints must be an object", f"{path}.constraints")
        constraints = {}
    takes = supported(kind)
    kept: dict[str, Any] = {}
    for name, value in constraints.items():
        if name not in takes:
            continue  # frictionless reports it (field-error); this type cannot check it
        if CONSTRAINTS[name].well_formed(value):
            kept[name] = value
        else:
            bad(f"constraint {name!r} {CONSTRAINTS[name].malformed}", f"{path}.constraints.{name}")
    return Field(raw["name"], kind, fmt, kept, own_missing, raw)
