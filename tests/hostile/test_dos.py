"""Attack 6: denial of service.

Bounded work: YAML aliases refused or capped, expression depth and CAGR `years` capped, regex
patterns compiled with a non-backtracking engine or refused, JSON nesting depth capped, special
files (FIFO, devices) refused, reads bounded; each with a clear finding or message, within the
bound (60 s; it must be far faster in practice), exit 1 or 2, no traceback.

Today several of these hang until the bound, so the module starts every attack up front, eight
at a time (each child capped at 2 GiB of memory and 256 MiB of file size), and each test judges
its own run: the module takes about as long as its slowest attacks, not their sum.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import (
    BOUND,
    Result,
    Runner,
    assert_bounded,
    assert_no_traceback,
    copy_package,
    edit_descriptor,
    edit_row,
    edit_schema,
    field_of,
    rehash,
)

pytestmark = pytest.mark.slow

TEXT = "resources/sources/000_d31d061fede478c7.txt"
CONCURRENCY = 8  # most waiting children are blocked or capped; at most two memory bombs at a time
# what a child prints when it hits the memory or file-size cap this suite sets (RLIMIT_DATA, RLIMIT_FSIZE)
CAP_SIGNS = ("MemoryError", "Cannot allocate memory", "File too large", "[Errno 27]", "[Errno 12]")


def _laughs(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: `width ** levels` leaves from a few hundred bytes of aliases."""
    lines = [f"lol0: &lol0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the attacks: setup(pkg) -> (args, names)


def laughs_in_rules(pkg: Path) -> tuple[list[object], str]:
    (pkg / "checks" / "laughs.yaml").write_text(_laughs() + f"rules: *lol{8}\n", encoding="utf-8")
    return ["validate", pkg], "checks/laughs.yaml"


def laughs_in_registry(pkg: Path) -> tuple[list[object], str]:
    registry = pkg / "schemas" / "fields.yaml"
    text = registry.read_text(encoding="utf-8")
    assert "\n  note: {type: string," in text
    text = _laughs() + text.replace("\n  note: {type: string,", "\n  note: {example: *lol8, type: string,", 1)
    registry.write_text(text, encoding="utf-8")
    return ["validate", pkg], "schemas/fields.yaml"


def cagr_years(pkg: Path) -> tuple[list[object], str]:
    (pkg / "checks" / "zz_cagr.yaml").write_text(
        "rules:\n"
        "  - id: hostile-cagr-years\n"
        "    kind: cagr\n"
        "    description: a CAGR over a hundred million years\n"
        "    start: company_financials/jiliu-revenue-2023-total\n"
        "    end: company_financials/jiliu-revenue-2025-total\n"
        "    cagr: company_ratios/jiliu-revenue-cagr-2023-2025\n"
        "    years: 100000000\n",
        encoding="utf-8",
    )
    return ["validate", pkg], "checks/zz_cagr.yaml"


def _pattern(pkg: Path, pattern: str) -> None:
    edit_schema(pkg, "market_size", lambda s: field_of(s, "note").setdefault("constraints", {}).update(pattern=pattern))
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", note="a" * 40 + "!")
    rehash(pkg)


def regex_lookahead(pkg: Path) -> tuple[list[object], str]:
    """A lookahead makes the tables layer fall back to Python's backtracking `re`."""
    _pattern(pkg, "(?=a)(a+)+$")
    return ["validate", pkg], "market_size"


def regex_nested_ge(pkg: Path) -> tuple[list[object], str]:
    """Plain nested quantifiers: the Great Expectations layer matches with pandas (Python `re`)."""
    _pattern(pkg, "(a+)+b")
    return ["validate", pkg, "--all"], "market_size"


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def fifo_text(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / TEXT)
    return ["validate", pkg], TEXT


def fifo_descriptor(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / "datapackage.json")
    return ["validate", pkg], "datapackage.json"


def fifo_table(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / "resources" / "policy_events.csv")
    return ["validate", pkg], "policy_events.csv"


def fifo_schema(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / "schemas" / "policy_events.json")
    return ["validate", pkg], "schemas/policy_events.json"


def fifo_rules(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / "checks" / "markets.yaml")
    return ["validate", pkg], "checks/markets.yaml"


def fifo_text_build(pkg: Path) -> tuple[list[object], str]:
    _fifo(pkg / TEXT)
    return ["build", pkg, "--out", pkg.parent / "out"], TEXT


def _zero(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def zero_text(pkg: Path) -> tuple[list[object], str]:
    _zero(pkg / TEXT)
    return ["validate", pkg], TEXT


def zero_descriptor(pkg: Path) -> tuple[list[object], str]:
    _zero(pkg / "datapackage.json")
    return ["validate", pkg], "datapackage.json"


def zero_table(pkg: Path) -> tuple[list[object], str]:
    _zero(pkg / "resources" / "policy_events.csv")
    return ["validate", pkg], "policy_events.csv"


def zero_text_build(pkg: Path) -> tuple[list[object], str]:
    """build copies the source text into the release: from /dev/zero that never ends (the child's file cap stops it)."""
    _zero(pkg / TEXT)
    return ["build", pkg, "--out", pkg.parent / "out"], TEXT


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_descriptor(pkg: Path) -> tuple[list[object], str]:
    edit_descriptor(pkg, lambda d: d.update({"x-nested": _nested(600)}))
    return ["validate", pkg], "datapackage.json"


def deep_schema(pkg: Path) -> tuple[list[object], str]:
    edit_schema(pkg, "policy_events", lambda s: s.update({"x-nested": _nested(600)}))
    return ["validate", pkg], "schemas/policy_events.json"


def deep_yaml_rules(pkg: Path) -> tuple[list[object], str]:
    """An expression nested 400 deep: `{sum: [{sum: [ ... ]}]}`."""
    expr = "company_financials/jiliu-revenue-2025-products"
    for _ in range(400):
        expr = "{sum: [" + expr + "]}"
    (pkg / "checks" / "zz_deep.yaml").write_text(
        "rules:\n"
        "  - id: hostile-deep-expression\n"
        "    kind: compare\n"
        f"    computed: {expr}\n"
        "    printed: company_financials/jiliu-revenue-2025-products\n",
        encoding="utf-8",
    )
    return ["validate", pkg], "checks/zz_deep.yaml"


def zip_bomb_diff(pkg: Path) -> tuple[list[object], str]:
    """`diff OLD NEW` with NEW a small zip whose one extra member inflates to 1 GiB of zeros."""
    bomb = pkg.parent / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(pkg.rglob("*")):
            if path.is_file():
                archive.write(path, f"pkg/{path.relative_to(pkg).as_posix()}")
        with archive.open("pkg/padding.bin", "w", force_zip64=True) as member:
            chunk = bytes(16 << 20)
            for _ in range(64):
                member.write(chunk)
    return ["diff", pkg, bomb], "bomb.zip"


# the slow ones first: today several hang until the bound, and they should all wait in parallel
ATTACKS: dict[str, Callable[[Path], tuple[list[object], str]]] = {
    "fifo-source-text": fifo_text,
    "fifo-descriptor": fifo_descriptor,
    "fifo-schema": fifo_schema,
    "fifo-rule-file": fifo_rules,
    "cagr-years-1e8": cagr_years,
    "regex-lookahead-backtracking": regex_lookahead,
    "yaml-billion-laughs-in-rules": laughs_in_rules,
    "yaml-billion-laughs-in-registry": laughs_in_registry,
    "regex-nested-quantifier-ge": regex_nested_ge,
    "fifo-table": fifo_table,
    "fifo-source-text-build": fifo_text_build,
    "dev-zero-source-text": zero_text,
    "dev-zero-descriptor": zero_descriptor,
    "dev-zero-table": zero_table,
    "dev-zero-source-text-build": zero_text_build,
    "json-600-deep-descriptor": deep_descriptor,
    "json-600-deep-table-schema": deep_schema,
    "expression-400-deep": deep_yaml_rules,
    "zip-bomb-diff": zip_bomb_diff,
}


@dataclass
class Attack:
    result: Result
    names: str  # what the message should name (a file, or a table)
    out: Path


@pytest.fixture(scope="module")
def attacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Attack]]:
    base = tmp_path_factory.mktemp("dos")
    prepared = {}
    for name, setup in ATTACKS.items():
        pkg = copy_package(base / name / "pkg")
        args, names = setup(pkg)
        prepared[name] = (Runner(base / name / "run"), args, names)

    def one(name: str) -> Attack:
        runner, args, names = prepared[name]
        return Attack(runner(*args, timeout=BOUND), names, base / name / "out")

    try:
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            yield dict(zip(ATTACKS, pool.map(one, ATTACKS), strict=True))
    finally:
        for runner, _, _ in prepared.values():
            runner.cleanup()
        for path in base.rglob("*"):  # no FIFO outlives the module
            if path.is_fifo():
                path.unlink()


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_hostile_package_is_judged_within_the_bound(name: str, attacks: dict[str, Attack]) -> None:
    attack = attacks[name]
    result = attack.result
    assert_bounded(result)
    assert_no_traceback(result)
    caps = [sign for sign in CAP_SIGNS if sign in result.text]
    assert caps == [], f"stopped only by the test's resource caps (unbounded without them): {caps}\n{result.brief()}"
    assert result.rc in (1, 2), f"exit code {result.rc}, expected 1 or 2:\n{result.brief()}"
    assert attack.names in result.text, f"the message does not name {attack.names}:\n{result.brief()}"


def test_the_attacks_left_no_huge_file(attacks: dict[str, Attack]) -> None:
    """Reads are bounded: nothing copied from /dev/zero (or anywhere) may grow without limit."""
    big = []
    for attack in attacks.values():
        for path in attack.out.parent.rglob("*"):  # package, output, the child's TMPDIR and HOME
            if path.is_file() and not path.is_symlink() and path.stat().st_size > 64 << 20:
                big.append(str(path))
    assert big == []


def test_the_deep_structures_are_well_formed() -> None:
    """Control: the nested descriptor is valid JSON of the stated depth (the attack is what it says)."""
    text = json.dumps(_nested(600))
    assert text.count("[") == 600 and json.loads(text)
