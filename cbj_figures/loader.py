"""Downstream loading: a table with its schema's types, after every file is checked against its hash.

Readers get the data they can trust: a release is refused when any file differs from the
descriptor's sha256 (or from `SHA256SUMS`), so a tampered or truncated download never loads.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from cbj_figures.descriptor import file_digest

if TYPE_CHECKING:
    import pandas as pd

    from cbj_figures.descriptor import PackageSpec, TableSpec

SUMS = "SHA256SUMS"
_POLARS = {
    "string": pl.Utf8,
    "integer": pl.Int64,
    "year": pl.Int64,
    "number": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "datetime": pl.Datetime("us"),
    "time": pl.Time,
}
_PANDAS = {
    "string": "string",
    "integer": "Int64",
    "year": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
}


class LoadError(ValueError):
    """The data cannot be loaded as asked."""


class IntegrityError(LoadError):
    """A file differs from the hash the descriptor records for it: it was changed or damaged."""

    def __init__(self, file: str, expected: str, actual: str):
        super().__init__(f"{file}: sha256 {actual} does not match the recorded {expected}; refusing to load it")
        self.file, self.expected, self.actual = file, expected, actual


class UnknownTableError(LoadError, LookupError):
    """The asked table is not in the package."""

    def __init__(self, table: str, known: list[str]):
        super().__init__(f"unknown table {table!r}; known tables: {', '.join(known)}")
        self.table, self.known = table, known


class VersionMismatchError(LoadError):
    """The package found is not the version asked for."""


def resource_paths(resource: dict) -> list[str]:
    """The local data files of a resource (`path` may be a string or a list in Data Package v2)."""
    path = resource.get("path")
    paths = path if isinstance(path, list) else [path] if path else []
    return [p for p in paths if "://" not in p]


def package_files(pkg: PackageSpec) -> list[str]:
    """Every file that makes up the package, relative and sorted: descriptor, schemas, data files."""
    files = {"datapackage.json"}
    for spec in pkg.tables.values():
        files.add(spec.schema_path)
    for resource in pkg.descriptor.get("resources", []):
        files.update(resource_paths(resource))
    return sorted(files)


def copy_package(root: Path, dest: Path) -> Path:
    """Copy the package's own files (descriptor, schemas, data files) from `root` into `dest`."""
    from cbj_figures.descriptor import load_package

    for rel in package_files(load_package(Path(root))):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(root) / rel, dest / rel)
    return dest


def data_root() -> Path:
    """The bundled package: `cbj_figures/_data` in an installed wheel, else the source checkout's root."""
    bundled = importlib.resources.files("cbj_figures") / "_data"
    if (bundled / "datapackage.json").is_file():
        return Path(str(bundled))
    return Path(__file__).resolve().parents[1]


def verify(root: Path, descriptor: dict, *, require_hashes: bool) -> None:
    """Check every data file against the descriptor's `hash`, and every file listed in SHA256SUMS.

    Raises IntegrityError naming the first file that differs; a release (require_hashes) must
    record a hash for every data file and carry SHA256SUMS, which also covers schemas and the descriptor.
    """
    for resource in descriptor.get("resources", []):
        recorded = resource.get("hash")
        for rel in resource_paths(resource):
            if not recorded:
                if require_hashes:
                    raise LoadError(f"{rel}: the descriptor records no hash for resource {resource.get('name')!r}")
                continue
            algorithm, _, expected = recorded.rpartition(":")
            _check(root, rel, (algorithm or "md5").lower(), expected.lower())
    sums = root / SUMS
    if sums.is_file():
        for line in sums.read_text(encoding="utf-8").splitlines():
            expected, _, rel = line.partition("  ")
            if rel:
                _check(root, rel, "sha256", expected)
    elif require_hashes:
        raise LoadError(f"{root}: a release must hold {SUMS}")


def _check(root: Path, rel: str, algorithm: str, expected: str) -> None:
    path = root / rel
    if not path.is_file():
        raise IntegrityError(rel, expected, "<missing file>")
    actual = file_digest(path, algorithm)[0]
    if actual != expected:
        raise IntegrityError(rel, f"{algorithm}:{expected}", f"{algorithm}:{actual}")


@contextmanager
def open_source(
    source: str | Path | None, known_hash: str | None = None, version: str | None = None
) -> Iterator[tuple[Path, bool]]:
    """Yield (package root, is a release) for the bundled data, a folder, a zip or a URL of a zip.

    A folder may also hold several releases (`dist/`): `version` then picks one.
    """
    if source is None:
        yield data_root(), False
        return
    text = str(source)
    if text.startswith(("http://", "https://")):
        if not known_hash:
            raise LoadError("loading from a URL needs its known_hash (sha256 of the zip)")
        import pooch

        cache = pooch.os_cache("cbj-figures")
        fetched = pooch.retrieve(text, known_hash=_pooch_hash(known_hash), path=cache, progressbar=False)
        source = Path(fetched)
    path = Path(source)
    if path.is_dir():
        yield find_package_root(path, version), True
    elif path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="cbj-figures-") as tmp, zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)
            try:
                root = find_package_root(Path(tmp), version)
            except LoadError as err:  # name the zip the user gave, not our temporary folder
                err.args = (str(err).replace(tmp, str(path)),)
                raise
            yield root, True
    else:
        raise LoadError(f"{source}: not a release folder, a zip or a URL")


def _pooch_hash(known_hash: str) -> str:
    return known_hash if ":" in known_hash else f"sha256:{known_hash}"


def find_package_root(folder: Path, version: str | None = None) -> Path:
    """The package in `folder`: itself, or the one shallowest datapackage.json below it (of `version`)."""
    if (folder / "datapackage.json").is_file():
        return folder
    found = sorted(folder.rglob("datapackage.json"), key=lambda p: (len(p.parts), str(p)))
    found = [p for p in found if len(p.parts) == len(found[0].parts)] if found else []
    if version is not None:
        versions = {p: json.loads(p.read_text(encoding="utf-8")).get("version") for p in found}
        if len(found) == 1 and versions[found[0]] != version:  # one release, of another version
            raise VersionMismatchError(f"{folder}: package version is {versions[found[0]]}, not the asked {version}")
        found = [p for p in found if versions[p] == version]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        listed = f": {', '.join(str(p.parent) for p in found)}" if found else ""
        raise LoadError(f"{folder}: {what} package{f' of version {version}' if version else ''} inside{listed}")
    return found[0].parent


def typed_frame(spec: TableSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in schema order with the schema's types; enum-constrained strings become `pl.Enum`."""
    columns = []
    for field in spec.schema["fields"]:
        enum = (field.get("constraints") or {}).get("enum")
        if enum and field.get("type", "string") == "string":
            dtype: Any = pl.Enum([str(v) for v in enum])
        else:
            dtype = _POLARS.get(field.get("type", "string"), pl.Utf8)
        columns.append(pl.col(field["name"]).cast(dtype))
    return frame.select(columns)


def to_pandas(spec: TableSpec, frame: pl.DataFrame) -> pd.DataFrame:
    """Nullable pandas dtypes: Int64, Float64, boolean, string, datetime64 for dates, category for enums."""
    import pandas as pd

    data = {}
    for field in spec.schema["fields"]:
        name = field["name"]
        values = frame.get_column(name).to_list()
        enum = (field.get("constraints") or {}).get("enum")
        if enum and field.get("type", "string") == "string":
            dtype: Any = pd.CategoricalDtype([str(v) for v in enum])
        else:
            dtype = _PANDAS.get(field.get("type", "string"), "object")
        if dtype == "datetime64[ns]":
            data[name] = pd.Series(pd.to_datetime(values), dtype=dtype)
        else:
            data[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


def load(
    table: str,
    *,
    engine: Literal["pandas", "polars"] = "pandas",
    version: str | None = None,
    source: str | Path | None = None,
    known_hash: str | None = None,
) -> Any:
    """One table of the package, typed per its Table Schema.

    `source` is None (the data installed with this package), a release folder, a release zip,
    or a URL of a release zip (fetched by pooch, checked against `known_hash`). `version`, when
    given, must equal the package's version: a pin, so analyses fail loudly on other data.
    """
    if engine not in ("pandas", "polars"):
        raise ValueError(f"engine must be 'pandas' or 'polars', not {engine!r}")
    from cbj_figures.descriptor import load_package
    from cbj_figures.tables import read_tables

    with open_source(source, known_hash, version) as (root, is_release):
        descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
        found = descriptor.get("version")
        if version is not None and found != version:
            raise VersionMismatchError(f"{root}: package version is {found}, not the asked {version}")
        known = sorted(r["name"] for r in descriptor.get("resources", []) if r.get("type") == "table" or "schema" in r)
        if table not in known:
            raise UnknownTableError(table, known)
        verify(root, descriptor, require_hashes=is_release)
        pkg = load_package(root)
        loaded, findings = read_tables(pkg)
        if table not in loaded:
            why = "; ".join(f"{f.location()}: {f.message}" for f in findings if f.file == pkg.tables[table].path)
            raise LoadError(f"table {table!r} cannot be read: {why}")
        spec = pkg.tables[table]
        frame = typed_frame(spec, loaded[table].frame)
    return frame if engine == "polars" else to_pandas(spec, frame)
