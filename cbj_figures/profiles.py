"""The official Data Package JSON Schemas (profiles), read from the package that maintains them.

Why dplib-py: it is the Frictionless team's own Data Package library and ships the official
profiles of v1 and v2 byte for byte, so every machine that installs this toolkit has them, and
nothing is fetched over the network or copied into this repository.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from pathlib import Path

OFFICIAL_VERSIONS = ("1.0", "2.0")
V2_PACKAGE = "https://datapackage.org/profiles/2.0/datapackage.json"


@functools.cache
def official(name: str = "datapackage", version: str = "2.0") -> dict:
    """One official profile (`datapackage`, `dataresource`, `tableschema`, `tabledialect`) as shipped by dplib-py."""
    if version not in OFFICIAL_VERSIONS:
        raise ValueError(f"no official profile of version {version!r}; known: {', '.join(OFFICIAL_VERSIONS)}")
    resource = importlib.resources.files("dplib") / "profiles" / version / f"{name}.json"
    return json.loads(resource.read_text(encoding="utf-8"))


def read_profile(path: Path) -> dict:
    """A profile given on the command line (`--profile`), overriding the official one."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
