"""Profiles: the official Data Package JSON Schemas, and the profile of this toolkit's conventions.

Why dplib-py: it is the Frictionless team's own Data Package library and ships the official
profiles of v1 and v2 byte for byte, so every machine that installs this toolkit has them.
Why a profile of our own: Data Package v2 extensions are declared that way. A package opts into
the conventions (evidence, printed figures, rules; docs/DESIGN.md) by naming our profile in its
`$schema`; the profile extends the official v2 one. Every profile is resolved from these local
files, so validating never touches the network.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any

OFFICIAL_VERSIONS = ("1.0", "2.0")
OFFICIAL_BASE = "https://datapackage.org/profiles"
V1_PACKAGE = f"{OFFICIAL_BASE}/1.0/datapackage.json"
V2_PACKAGE = f"{OFFICIAL_BASE}/2.0/datapackage.json"
V1_URLS = (V1_PACKAGE, "https://specs.frictionlessdata.io/schemas/data-package.json")
CONVENTIONS_PROFILE = "https://cbj-figures.github.io/cbj-figures/profiles/1.0/datapackage.json"
CONVENTIONS_PROFILES = (CONVENTIONS_PROFILE,)
_CONVENTIONS_FILE = "conventions-datapackage-1.0.json"


@functools.cache
def official(name: str = "datapackage", version: str = "2.0") -> dict:
    """One official profile (`datapackage`, `dataresource`, `tableschema`, `tabledialect`) as shipped by dplib-py."""
    if version not in OFFICIAL_VERSIONS:
        raise ValueError(f"no official profile of version {version!r}; known: {', '.join(OFFICIAL_VERSIONS)}")
    resource = importlib.resources.files("dplib") / "profiles" / version / f"{name}.json"
    return json.loads(resource.read_text(encoding="utf-8"))


@functools.cache
def conventions() -> dict:
    """The JSON Schema of this toolkit's conventions (it extends the official v2 profile)."""
    resource = importlib.resources.files("cbj_figures") / "assets" / _CONVENTIONS_FILE
    return json.loads(resource.read_text(encoding="utf-8"))


def standard_of(descriptor: dict) -> str:
    """The Data Package version a descriptor follows, as frictionless resolves it.

    An absent `$schema` means v1 (the spec says so); a profile that is neither official nor ours
    is "unknown", and is checked against the union of v1 and v2 rules, as frictionless does.
    """
    profile = descriptor.get("$schema")
    if not profile:
        return "v1"
    if profile in V1_URLS:
        return "v1"
    if profile == V2_PACKAGE or profile in CONVENTIONS_PROFILES:
        return "v2"
    return "unknown"


def profile_for(descriptor: dict) -> tuple[str, dict] | None:
    """(URL, JSON Schema) the descriptor is checked against; None when its profile is not one we hold."""
    profile = descriptor.get("$schema")
    if profile in CONVENTIONS_PROFILES:
        return profile, conventions()
    standard = standard_of(descriptor)
    if standard == "v2":
        return V2_PACKAGE, official("datapackage", "2.0")
    if standard == "v1" and descriptor.get("profile") == "tabular-data-package":
        return V1_PACKAGE, official("datapackage", "1.0")  # dplib's v1 profile is the tabular one
    return None


class RemoteReference(Exception):
    """A `$ref` to a document we do not hold: it is not fetched."""


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    def refuse(uri: str) -> Any:
        raise RemoteReference(uri)

    documents = {f"{OFFICIAL_BASE}/{v}/{n}.json": official(n, v) for v in OFFICIAL_VERSIONS
                 for n in ("datapackage", "dataresource", "tableschema", "tabledialect")}
    documents[CONVENTIONS_PROFILE] = conventions()
    resources = [(uri, Resource.from_contents(doc, default_specification=DRAFT7)) for uri, doc in documents.items()]
    return Registry(retrieve=refuse).with_resources(resources)


def validator(schema: dict) -> Any:
    """A JSON Schema validator whose `$ref`s resolve to the local profiles only (never the network)."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=_registry())


def requirement(pkg: Any, required: str | None = None) -> list:
    """Findings of the profile the package's own CI requires: `required` (`validate --require-profile`), else
    `[tool.cbj-figures] profile` of the pyproject.toml beside its descriptor. A package whose `$schema` is not
    that profile, or a required profile this toolkit does not hold (so cannot check), is a `profile-required`
    error: a pull request cannot switch the checks off by changing `$schema`."""
    from cbj_figures.findings import Finding

    where = {"file": pkg.file, "field": "$.$schema", "layer": "descriptor"}
    if required is None:
        required, problem = configured_profile(pkg.root)
        if problem:
            return [Finding("profile-required", problem, file=PYPROJECT, layer="descriptor")]
    if not required:
        return []
    declared = pkg.descriptor.get("$schema")
    if declared != required:
        return [Finding("profile-required", f"the package must name the profile {required!r} in $schema (its CI "
                        f"requires it), not {declared!r}: the layers of that profile did not run", **where)]
    if required not in (*V1_URLS, V2_PACKAGE, *CONVENTIONS_PROFILES):
        return [Finding("profile-required", f"the required profile {required!r} is not one this toolkit holds, so "
                        "it cannot be checked", **where)]
    return []


PYPROJECT = "pyproject.toml"


def configured_profile(root: Any) -> tuple[str | None, str | None]:
    """(`[tool.cbj-figures] profile` of root/pyproject.toml or None, a problem reading it or None)."""
    import tomllib

    from cbj_figures import safeio

    try:
        text = safeio.read_inside(root, PYPROJECT, limit=safeio.MiB).decode("utf-8")
        value = tomllib.loads(text).get("tool", {}).get("cbj-figures", {}).get("profile")
    except FileNotFoundError:
        return None, None
    except (safeio.UnsafeInput, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError) as e:
        return None, f"{PYPROJECT} cannot be read, so the profile its [tool.cbj-figures] may require is unknown: {e}"
    if value is not None and not isinstance(value, str):
        return None, f"[tool.cbj-figures] profile in {PYPROJECT} must be a URL string, not {value!r}"
    return value, None


def read_profile(path: Any) -> dict:
    """A profile given on the command line (`--profile`), overriding the one the descriptor names."""
    from pathlib import Path

    from cbj_figures import safeio

    return safeio.load_json(safeio.read_file(Path(path)))
