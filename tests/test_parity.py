"""Parity of our validator with `frictionless validate` (frictionless-py, the oracle) on standard Data Packages.

Two families, so that the corpus is checked even before our validator exists (`pytest -k frictionless`, `-k ours`):

- `test_frictionless_*`: frictionless alone, live: it still says what tests/corpus/README.md records for every case
  (verdict and errors), the comparison accepts its own answers, each override still departs from it, and it finds
  the hypothesis-generated packages valid, then broken at the one cell the generator broke (proving the generator);
- `test_ours_*`: ours against frictionless on every corpus case (or against `OVERRIDES` where frictionless is wrong)
  and on the generated packages. They fail with ImportError until `cbj_figures.validate` lands.

Errors are compared as `Key(code, file, row, field)`: `file` is relative to the package root (POSIX; for a multipart
resource frictionless numbers rows across the parts, so any part's name is accepted), `row` is frictionless's
rowNumber (None for header, file and descriptor errors), `field` is compared for cell errors only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import importlib.util
import json
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import frictionless
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CORPUS = Path(__file__).resolve().parent / "corpus"
README = CORPUS / "README.md"
DESCRIPTOR_NAMES = ("datapackage.json", "datapackage.yaml")
FIRST = 50  # errors compared per package: enough for these small packages, bounded for big ones


# --------------------------------------------------------------------------------------------------------------------
# The adapter: the only place that knows our validator's API. Adjust it here when the API lands.
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OurReport:
    """Our validator's answer, reduced to what is compared with frictionless."""

    valid: bool
    findings: list[Key]


def run_ours(path: Path) -> OurReport:
    """Validate with ours; `path` is a package folder or a descriptor file (.json/.yaml)."""
    from cbj_figures.validate import validate  # does not exist until the new validator lands

    report = validate(path)
    return OurReport(
        valid=bool(report.valid),
        findings=[Key(f.code, f.file, f.row, f.field or None) for f in report.findings],
    )


# --------------------------------------------------------------------------------------------------------------------
# Errors as comparable keys, written in the README as `type@file:row[field]`.
# --------------------------------------------------------------------------------------------------------------------

KEY_PATTERN = re.compile(r"^(?P<code>[a-z-]+)(?:@(?P<file>[^:\[]+))?(?::(?P<row>\d+))?(?:\[(?P<field>.*)\])?$")


@dataclass(frozen=True, order=True)
class Key:
    """Where an error is and what it is: the unit of comparison, and of the README's error lists."""

    code: str | None  # None in an override: any code will do
    file: str | None
    row: int | None
    field: str | None = None

    def __str__(self) -> str:
        text = self.code or "*"
        text += f"@{self.file}" if self.file else ""
        text += f":{self.row}" if self.row is not None else ""
        return text + (f"[{self.field}]" if self.field else "")

    @classmethod
    def parse(cls, text: str) -> Key:
        match = KEY_PATTERN.match(text)
        assert match, f"not an error key: {text!r}"
        row = match["row"]
        return cls(match["code"], match["file"], int(row) if row else None, match["field"] or None)


@dataclass(frozen=True)
class Verdict:
    """What a validator says of a package: valid, and its errors (first FIRST)."""

    valid: bool | None  # None: frictionless crashed or was not run
    errors: tuple[Key, ...] = ()
    note: str = ""  # the README's verdict word when frictionless does not give one

    @property
    def word(self) -> str:
        return self.note or ("valid" if self.valid else "invalid")


# --------------------------------------------------------------------------------------------------------------------
# Where frictionless is wrong: our expected answer instead, each with its reason.
# --------------------------------------------------------------------------------------------------------------------

OVERRIDES: dict[str, Verdict] = {
    # The Table Schema's number grammar has ASCII digits and no blanks or `_`: Python's Decimal and int() (which
    # frictionless reads numbers with) take ` 1.5` and `1_000`, and full-width or Arabic-Indic digits too.
    "lenient-values": Verdict(False, (Key("type-error", "data.csv", 2, "num"),
                                      Key("type-error", "data.csv", 2, "int"))),
    # The Table Dialect `nullSequence` is ignored by frictionless: `NA` is read as a value and fails `integer`.
    "dialect-null-sequence": Verdict(True),
    # Python's csv reader ignores `lineTerminator`, so frictionless sees one long header line.
    "dialect-line-terminator": Verdict(True),
    # The spec's own example: `fruit` above `id,name` gives `fruit id`, `fruit name`; frictionless gives `name`.
    "dialect-header-rows-spec-example": Verdict(True),
    # v2 integer `groupChar` is not implemented by frictionless: `1,234` is a type error there.
    "types-integer-group-char": Verdict(True),
    # Key fields are implicitly required (Table Schema: "the fields cannot be null"); frictionless only checks
    # that the whole key is not null.
    "primary-key-composite-null": Verdict(False, (Key(None, "data.csv", 3),)),
    # v2 `uniqueKeys` is not checked by frictionless at all.
    "unique-keys-violated": Verdict(False, (Key(None, "data.csv", 3), Key(None, "data.csv", 4))),
    # frictionless only knows md5 and sha256; any other algorithm passes unchecked.
    "hash-count-sha1": Verdict(False, (Key("hash-count", "data.csv", None),)),
    # Hex digests are case-insensitive; frictionless compares the strings.
    "hash-md5-uppercase": Verdict(True),
    # JSON objects are unordered (RFC 8259), but frictionless takes the first object's key order for the header and
    # maps cells by position: incorrect labels, then every cell a type error.
    "json-objects-key-order": Verdict(True),
    # v2 `categories` is not checked by frictionless.
    "categories": Verdict(False, (Key(None, "data.csv", 3), Key(None, "data.csv", 4))),
    # v2 `jsonSchema` constraint: frictionless rejects the schema itself ("not supported by type object").
    "constraint-json-schema": Verdict(False, (Key("constraint-error", "data.csv", 3, "obj"),)),
    # `minimum` applies to durations (Table Schema lists it); frictionless rejects the schema instead.
    "constraint-minimum-duration": Verdict(False, (Key("constraint-error", "data.csv", 3, "span"),)),
    # Duplicate field names MUST NOT make a v2 descriptor invalid (v1 allowed them): the table is read by position,
    # and its header has a label twice (frictionless's duplicate-label), its rows checked (a type error in v1's).
    "duplicate-field-names": Verdict(False, (Key("duplicate-label", "data.csv", None),)),
    "duplicate-field-names-v1": Verdict(False, (Key("duplicate-label", "data.csv", None),
                                                Key("type-error", "data.csv", 3, "a (2)"))),
    # frictionless crashes (TypeError: naive vs aware datetimes); ours answers: a datetime without a zone is read
    # as UTC (aware ones are compared in UTC), and 2020-06-01T00:00:00 is after 2020-01-01T00:00:00Z.
    "datetime-naive-vs-aware-minimum": Verdict(True),
    # frictionless raises a bare error (type "error") for a label twice under fieldsMatch by name; ours names it.
    "fields-match-equal-duplicate-label": Verdict(False, (Key("duplicate-label", "data.csv", 1),)),
    # Not run by frictionless (it would fetch the remote file); ours must not connect and must still check local.csv.
    "remote-path-not-fetched": Verdict(False, (Key("type-error", "local.csv", 3, "id"),)),
}

# frictionless would connect to the network for these: never run them through frictionless.
NOT_RUN_BY_FRICTIONLESS = {"remote-path-not-fetched": "not run (remote path)"}

# JSON tables and JSON Lines need frictionless's `json` extra (ijson, jsonlines), not in the lock.
NEEDS_JSON_EXTRA = {
    "json-arrays",
    "json-objects",
    "json-type-error",
    "jsonl-objects",
    "ndjson-arrays",
    "jsonl-type-error",
    "json-objects-key-order",
}
HAS_JSON_EXTRA = all(importlib.util.find_spec(name) for name in ("ijson", "jsonlines"))


def runnable_by_frictionless(case: str) -> bool:
    """Whether frictionless can be asked here: never for remote paths, and JSON tables only with its json extra."""
    return case not in NOT_RUN_BY_FRICTIONLESS and (HAS_JSON_EXTRA or case not in NEEDS_JSON_EXTRA)


# --------------------------------------------------------------------------------------------------------------------
# Running frictionless
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class NetworkAttempts:
    """Connections something tried while the network was blocked."""

    targets: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def no_network() -> Iterator[NetworkAttempts]:
    """Block name lookups and connections, recording the attempts: nothing here may leave the machine."""
    attempts = NetworkAttempts()

    def refuse(*args: Any, **_: Any) -> Any:
        attempts.targets.append(args[:2])
        raise OSError("network blocked by tests/test_parity.py")

    with (
        mock.patch.object(socket, "getaddrinfo", refuse),
        mock.patch.object(socket, "create_connection", refuse),
        mock.patch.object(socket.socket, "connect", lambda self, address: refuse(address)),
    ):
        yield attempts


def descriptor_path(folder: Path) -> Path:
    """The package's descriptor: frictionless must be given the file (a folder only finds datapackage.json)."""
    found = [folder / name for name in DESCRIPTOR_NAMES if (folder / name).is_file()]
    assert len(found) == 1, f"{folder}: expected one of {DESCRIPTOR_NAMES}"
    return found[0]


def load_descriptor(path: Path) -> dict[str, Any]:
    """The descriptor as data, to name each resource's files the way the package does."""
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)


def resource_files(descriptor: dict[str, Any]) -> dict[str, list[str]]:
    """Each resource's data files, relative to the package root ([] for inline data)."""
    files: dict[str, list[str]] = {}
    for resource in descriptor.get("resources", []):
        path = resource.get("path")
        files[resource.get("name", "")] = [] if path is None else [path] if isinstance(path, str) else list(path)
    return files


def run_frictionless(folder: Path) -> Verdict:
    """frictionless's verdict on one package, with the network blocked (it must not need it)."""
    descriptor = descriptor_path(folder)
    files = resource_files(load_descriptor(descriptor))
    report: frictionless.Report | Exception
    with no_network() as attempts:
        try:
            report = frictionless.validate(str(descriptor))
        except Exception as error:  # a crash is a verdict too: the README records it
            report = error
    assert not attempts.targets, f"{folder.name}: frictionless tried to connect to {attempts.targets}"
    if isinstance(report, Exception):
        return Verdict(None, note=f"crash ({type(report).__name__})")
    errors = [Key(error.type, None, None, None) for error in report.errors]
    for task in report.tasks:
        parts = files.get(task.name, [])
        for error in task.errors:
            row = getattr(error, "row_number", None)
            errors.append(Key(error.type, parts[0] if parts else None, row, getattr(error, "field_name", None) or None))
    return Verdict(report.valid, tuple(errors[:FIRST]))


@functools.cache
def frictionless_verdict(case: str) -> Verdict:
    """Once per session: the README test and the parity test ask for the same case."""
    return run_frictionless(CORPUS / case)


# --------------------------------------------------------------------------------------------------------------------
# The README: one table row per case, `| case | what | verdict | errors |`
# --------------------------------------------------------------------------------------------------------------------

ROW_PATTERN = re.compile(r"^\| `(?P<case>[a-z0-9-]+)` \| (?P<what>.*) \| (?P<verdict>[^|]+) \| (?P<errors>[^|]*) \|$")


@functools.cache
def readme_table() -> dict[str, Verdict]:
    """The README's recorded verdicts: the corpus documentation is also the frictionless-only expectation."""
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- cases:start -->", 1)[1].split("<!-- cases:end -->", 1)[0]
    recorded: dict[str, Verdict] = {}
    for line in table.splitlines():
        match = ROW_PATTERN.match(line.strip())
        if not match:
            continue
        word = match["verdict"].strip()
        errors = tuple(Key.parse(item.strip().strip("`")) for item in match["errors"].split("<br>") if "`" in item)
        valid = {"valid": True, "invalid": False}.get(word)
        recorded[match["case"]] = Verdict(valid, errors, "" if valid is not None else word)
    return recorded


def cases() -> list[str]:
    """Every corpus folder is a case: adding a folder adds it to every test."""
    return sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def test_frictionless_readme_lists_every_case() -> None:
    """Every corpus folder has exactly one README row, and every row a folder."""
    assert sorted(readme_table()) == cases()


@pytest.mark.parametrize("case", cases())
def test_frictionless_matches_readme(case: str) -> None:
    """frictionless today says what the README records: verdict and every error, in order."""
    recorded = readme_table()[case]
    if case in NOT_RUN_BY_FRICTIONLESS:
        assert recorded.word == NOT_RUN_BY_FRICTIONLESS[case]
        pytest.skip(f"{case}: frictionless would fetch a remote path")
    if not runnable_by_frictionless(case):
        pytest.skip(f"{case}: frictionless needs its json extra (ijson, jsonlines) for JSON tables")
    live = frictionless_verdict(case)
    assert (live.word, [str(k) for k in live.errors]) == (recorded.word, [str(k) for k in recorded.errors])


# --------------------------------------------------------------------------------------------------------------------
# Parity: ours against frictionless (or the override)
# --------------------------------------------------------------------------------------------------------------------


def expected_verdict(case: str) -> Verdict:
    """Our expected answer: the override, else frictionless live, else (extra missing) what the README recorded."""
    if case in OVERRIDES:
        return OVERRIDES[case]
    return frictionless_verdict(case) if runnable_by_frictionless(case) else readme_table()[case]


def matches(expected: Key, finding: Key, parts: list[str]) -> bool:
    """Same code (unless any will do), same file (any part of a multipart resource), same row, same cell."""
    if expected.code is not None and finding.code != expected.code:
        return False
    if expected.file is not None and finding.file not in parts:
        return False
    if expected.file is None and expected.row is not None and finding.file is not None:
        return False  # inline data: no file
    if expected.row is not None and finding.row != expected.row:
        return False
    return expected.row is None or expected.field is None or finding.field == expected.field


def parts_of(files: dict[str, list[str]], file: str) -> list[str]:
    """The files a finding may name for an error frictionless puts at `file`: every part of a multipart resource."""
    return next((paths for paths in files.values() if file in paths), [file])


def assert_parity(folder: Path, expected: Verdict, ours: OurReport) -> None:
    """Ours has frictionless's verdict, and reports each of its errors at the same place with the same code."""
    files = resource_files(load_descriptor(descriptor_path(folder)))
    shown = "\n  ".join(str(k) for k in ours.findings) or "(none)"
    assert ours.valid == bool(expected.valid), f"{folder.name}: expected {expected.word}; ours:\n  {shown}"
    for key in expected.errors:
        if key.file is None and key.row is None:
            continue  # a descriptor error: ours names it in its own words; being invalid is what is compared
        parts = parts_of(files, key.file) if key.file else []
        assert any(matches(key, f, parts) for f in ours.findings), f"{folder.name}: no {key} in ours:\n  {shown}"


@pytest.mark.parametrize("case", cases())
def test_ours_parity(case: str) -> None:
    """Ours agrees with frictionless (or with the override where frictionless is wrong), without the network."""
    expected = expected_verdict(case)
    with no_network() as attempts:
        ours = run_ours(CORPUS / case)
    assert not attempts.targets, f"{case}: ours tried to connect to {attempts.targets}"
    assert_parity(CORPUS / case, expected, ours)


@contextlib.contextmanager
def small_batches(block: int = 64, rows: int = 2) -> Iterator[None]:
    """The streaming path at its smallest: batches of a few rows, and every key set spilled to DuckDB."""
    from cbj_figures import keys, read

    with mock.patch.object(read, "BATCH_BYTES", block), mock.patch.object(read, "GENERAL_ROWS", rows), \
            mock.patch.object(keys, "KEY_MEMORY", 0):
        yield


def every_finding(path: Path) -> list[tuple]:
    from cbj_figures.validate import validate

    return sorted((f.code, f.file or "", f.row or 0, f.line or 0, f.field or "", f.rule or "", f.message)
                  for f in validate(path).findings)


@pytest.mark.parametrize("case", cases())
def test_ours_parity_in_small_batches(case: str) -> None:
    """The same findings, to the line and the message, when every table is many batches and its keys spill."""
    if case in NOT_RUN_BY_FRICTIONLESS:
        pytest.skip("remote")
    whole = every_finding(CORPUS / case)
    with small_batches():
        assert every_finding(CORPUS / case) == whole
        assert_parity(CORPUS / case, expected_verdict(case), run_ours(CORPUS / case))


@pytest.mark.parametrize("case", [c for c in cases() if c not in OVERRIDES])
def test_frictionless_answers_pass_the_harness(case: str) -> None:
    """The comparison is sound: frictionless's own answer, read as ours, passes; with one error less it fails."""
    expected = expected_verdict(case)
    assert_parity(CORPUS / case, expected, OurReport(bool(expected.valid), list(expected.errors)))
    files = resource_files(load_descriptor(descriptor_path(CORPUS / case)))
    for key in [k for k in expected.errors if k.file is not None or k.row is not None]:
        rest = [k for k in expected.errors if k != key]
        if not any(matches(key, other, parts_of(files, key.file) if key.file else []) for other in rest):
            with pytest.raises(AssertionError, match="no "):
                assert_parity(CORPUS / case, expected, OurReport(False, rest))
            break  # one distinct error left out is enough to show that it is noticed


@pytest.mark.parametrize("case", sorted(OVERRIDES))
def test_frictionless_still_needs_each_override(case: str) -> None:
    """Each override still departs from frictionless; when frictionless is fixed, drop the override."""
    if not runnable_by_frictionless(case):
        pytest.skip(f"{case}: not run through frictionless here")
    live, ours = frictionless_verdict(case), OVERRIDES[case]
    assert (live.valid, live.errors) != (ours.valid, ours.errors), f"{case}: frictionless now agrees; drop it"


@pytest.mark.parametrize("case", ["descriptor-v2", "descriptor-yaml", "descriptor-yaml-type-error"])
def test_ours_folder_and_descriptor_agree(case: str) -> None:
    """Ours gives one answer whether it is handed the folder or the descriptor file."""
    folder = CORPUS / case
    assert run_ours(folder) == run_ours(descriptor_path(folder))


# --------------------------------------------------------------------------------------------------------------------
# Generated packages: random schemas, valid rows, then one broken cell
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A generated field: its descriptor, valid cells, and ways to break one cell."""

    descriptor: dict[str, Any]
    cells: st.SearchStrategy[str]
    type_breaker: str | None  # a cell that is not of the type
    constraint_breaker: str | None  # a cell of the type that breaks a constraint


def _bounds(draw: st.DrawFn, low: int, high: int) -> tuple[int | None, int | None]:
    """Optional minimum and maximum inside [low, high], minimum <= maximum."""
    a, b = sorted((draw(st.integers(low, high)), draw(st.integers(low, high))))
    return (a if draw(st.booleans()) else None), (b if draw(st.booleans()) else None)


def _constraints(minimum: Any, maximum: Any) -> dict[str, Any]:
    """Only the bounds drawn: an absent bound must not appear as null in the descriptor."""
    return {k: v for k, v in (("minimum", minimum), ("maximum", maximum)) if v is not None}


@st.composite
def integer_column(draw: st.DrawFn) -> Column:
    """Integers inside optional bounds; `1.5` is not an integer, one past a bound breaks it."""
    low, high = _bounds(draw, -1000, 1000)
    cells = st.integers(-1000 if low is None else low, 1000 if high is None else high).map(str)
    breaker = str(high + 1) if high is not None else str(low - 1) if low is not None else None
    return Column({"type": "integer", "constraints": _constraints(low, high)}, cells, "1.5", breaker)


@st.composite
def number_column(draw: st.DrawFn) -> Column:
    """Decimals in cents (exact, no float noise); `1,5` is not a number without `decimalChar`."""
    low, high = _bounds(draw, -100, 100)
    cents = st.integers(100 * (-100 if low is None else low), 100 * (100 if high is None else high))
    cells = cents.map(lambda c: str(Decimal(c) / 100))
    breaker = f"{high}.5" if high is not None else f"{low - 1}.5" if low is not None else None
    return Column({"type": "number", "constraints": _constraints(low, high)}, cells, "1,5", breaker)


@st.composite
def string_column(draw: st.DrawFn) -> Column:
    """Strings under enum, pattern or length constraints; a string has no type error, only constraint ones."""
    kind = draw(st.sampled_from(["plain", "length", "pattern", "enum"]))
    if kind == "enum":
        choices = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=5), min_size=1, max_size=4, unique=True))
        return Column({"type": "string", "constraints": {"enum": choices}}, st.sampled_from(choices), None, "zzz")
    if kind == "pattern":
        cells = st.from_regex(r"[a-z]{2}[0-9]{1,3}", fullmatch=True)
        return Column({"type": "string", "constraints": {"pattern": "[a-z]{2}[0-9]{1,3}"}}, cells, None, "a1")
    low, high = sorted((draw(st.integers(1, 6)), draw(st.integers(1, 6))))
    constraints = {"minLength": low, "maxLength": high} if kind == "length" else {}
    cells = st.text("abcdefghijklmnopqrstuvwxyzé ", min_size=low, max_size=high).map(lambda s: "x" + s[1:])
    return Column(
        {"type": "string", "constraints": constraints}, cells, None, "y" * (high + 1) if constraints else None
    )


@st.composite
def date_column(draw: st.DrawFn) -> Column:
    """ISO dates inside optional bounds; 30 February is not a date."""
    low, high = _bounds(draw, 0, 3650)
    start = dt.date(2000, 1, 1)
    first, last = start + dt.timedelta(0 if low is None else low), start + dt.timedelta(3650 if high is None else high)
    limits = _constraints(None if low is None else first.isoformat(), None if high is None else last.isoformat())
    breaker = (last + dt.timedelta(1)).isoformat() if high is not None else None
    breaker = breaker or ((first - dt.timedelta(1)).isoformat() if low is not None else None)
    cells = st.dates(first, last).map(dt.date.isoformat)
    return Column({"type": "date", "constraints": limits}, cells, "2021-02-30", breaker)


@st.composite
def datetime_column(draw: st.DrawFn) -> Column:
    """UTC datetimes (`Z`, as the bounds: frictionless crashes comparing naive and aware); a date is not one."""
    low, high = _bounds(draw, 0, 1000)
    start = dt.datetime(2020, 1, 1)
    first, last = start + dt.timedelta(hours=low or 0), start + dt.timedelta(hours=1000 if high is None else high)
    text = "%Y-%m-%dT%H:%M:%SZ"
    limits = _constraints(None if low is None else first.strftime(text), None if high is None else last.strftime(text))
    breaker = (last + dt.timedelta(seconds=1)).strftime(text) if high is not None else None
    breaker = breaker or ((first - dt.timedelta(seconds=1)).strftime(text) if low is not None else None)
    cells = st.datetimes(first, last).map(lambda d: d.strftime(text))
    return Column({"type": "datetime", "constraints": limits}, cells, "2020-01-01", breaker)


@st.composite
def year_column(draw: st.DrawFn) -> Column:
    """Four-digit years inside optional bounds."""
    low, high = _bounds(draw, 1900, 2100)
    cells = st.integers(1900 if low is None else low, 2100 if high is None else high).map(lambda y: f"{y:04d}")
    breaker = str(high + 1) if high is not None else str(low - 1) if low is not None else None
    return Column({"type": "year", "constraints": _constraints(low, high)}, cells, "20x0", breaker)


def fixed_column(
    type_: str, cells: st.SearchStrategy[str], type_breaker: str, **extra: Any
) -> st.SearchStrategy[Column]:
    """A type without constraints here: only a type error breaks it."""
    return st.just(Column({"type": type_, **extra}, cells, type_breaker, None))


COLUMNS = st.one_of(
    integer_column(),
    number_column(),
    string_column(),
    date_column(),
    datetime_column(),
    year_column(),
    fixed_column("boolean", st.sampled_from(["true", "false", "True", "FALSE", "1", "0"]), "yes"),
    fixed_column("time", st.times().map(lambda t: t.strftime("%H:%M:%S")), "25:00:00"),
    fixed_column(
        "yearmonth", st.tuples(st.integers(1900, 2100), st.integers(1, 12)).map("{0[0]}-{0[1]:02d}".format), "2020-13"
    ),
    fixed_column("duration", st.integers(0, 400).map("P{}D".format), "1 day"),
    fixed_column(
        "geopoint", st.tuples(st.integers(-180, 180), st.integers(-90, 90)).map("{0[0]},{0[1]}".format), "200,0"
    ),
    fixed_column("object", st.integers().map(lambda i: json.dumps({"k": i}, separators=(",", ":"))), "[1]"),
    fixed_column(
        "array", st.lists(st.integers(0, 9), max_size=3).map(lambda v: json.dumps(v, separators=(",", ":"))), '{"a":1}'
    ),
)


@dataclass
class Generated:
    """A generated package: descriptor, rows (header first), and the cell to break."""

    descriptor: dict[str, Any]
    rows: list[list[str]]
    broken: tuple[int, int, str, str]  # data row index, column index, new cell, expected code


@st.composite
def generated_packages(draw: st.DrawFn) -> Generated:
    columns = draw(st.lists(COLUMNS, min_size=1, max_size=5))
    required = [draw(st.booleans()) for _ in columns]
    fields: list[dict[str, Any]] = [{"name": "id", "type": "integer"}]
    for index, (column, must) in enumerate(zip(columns, required, strict=True)):
        descriptor = {"name": f"f{index}", **column.descriptor}
        constraints = dict(descriptor.pop("constraints", {}), **({"required": True} if must else {}))
        fields.append({**descriptor, **({"constraints": constraints} if constraints else {})})
    count = draw(st.integers(1, 6))
    rows = [[f["name"] for f in fields]]
    for number in range(1, count + 1):
        row = [str(number)]
        for column, must in zip(columns, required, strict=True):
            empty = not must and draw(st.integers(0, 5)) == 0  # a null now and then where allowed
            row.append("" if empty else draw(column.cells))
        rows.append(row)
    # Break one cell: a type error, a constraint error, or an empty required cell; `id` takes the type error when
    # the chosen column has nothing to break.
    target = draw(st.integers(0, len(columns) - 1))
    column, must = columns[target], required[target]
    options = [(b, "type-error") for b in [column.type_breaker] if b is not None]
    options += [(b, "constraint-error") for b in [column.constraint_breaker] if b is not None]
    options += [("", "constraint-error")] if must else []
    cell, code = draw(st.sampled_from(options)) if options else ("one", "type-error")
    broken = (draw(st.integers(0, count - 1)), target + 1 if options else 0, cell, code)
    name = "generated"
    descriptor = {"name": name, "resources": [{"name": "data", "path": "data.csv", "schema": {"fields": fields}}]}
    return Generated(descriptor, rows, broken)


def write_package(folder: Path, package: Generated, *, broken: bool) -> Key | None:
    """Write the package; with `broken`, one cell broken, and return where the error is expected."""
    rows = [list(r) for r in package.rows]
    key = None
    if broken:
        index, column, cell, code = package.broken
        rows[index + 1][column] = cell
        key = Key(code, "data.csv", index + 2, rows[0][column])  # the header is row 1
    (folder / "datapackage.json").write_text(json.dumps(package.descriptor, indent=2), encoding="utf-8")
    with open(folder / "data.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return key


GENERATED = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(generated_packages())
def test_frictionless_on_generated_packages(package: Generated) -> None:
    """The generator is right: frictionless finds the valid package valid, and the broken one broken at one cell."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_package(folder, package, broken=False)
        assert run_frictionless(folder) == Verdict(True, ()), package.descriptor
        key = write_package(folder, package, broken=True)
        assert run_frictionless(folder) == Verdict(False, (key,)), package.descriptor


@GENERATED
@given(generated_packages())
def test_ours_on_generated_packages(package: Generated) -> None:
    """Ours says what frictionless says: valid, then the broken cell at the same row and field."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_package(folder, package, broken=False)
        assert_parity(folder, run_frictionless(folder), run_ours(folder))
        write_package(folder, package, broken=True)
        assert_parity(folder, run_frictionless(folder), run_ours(folder))
        whole = every_finding(folder)
        with small_batches(rows=1):
            assert every_finding(folder) == whole
