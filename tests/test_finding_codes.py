"""Every registered finding code is produced by a real run: one case a code, from a small package broken once.

`CASES` maps each code of `findings.CODES` to a package (`mini`: tests/fixtures/mini, the standard alone;
`ours`: a copy of this repository's package, whose conventions are opted in), one edit of it, and the
command that must report the code (run through `cbj_figures.cli.main`, as `cbj-figures` runs it). A code
registered without a case fails `test_every_registered_code_has_a_case`: add its case, one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from packages import copy_package, edit_cells

from cbj_figures.build import rehash
from cbj_figures.cli import main
from cbj_figures.findings import CODES
from cbj_figures.safeio import MAX_DATA

MINI = Path(__file__).parent / "fixtures" / "mini"
FIGURES, SOURCES, ARTICLE = "resources/figures.csv", "resources/sources.csv", "resources/sources/article.txt"

Edit = Callable[[Path], object]


# ------------------------------------------------------------------ edits (each returns nothing; pkg is a copy)


def replace(rel: str, old: str, new: str) -> Edit:
    """Replace the first `old` in file `rel`."""

    def edit(pkg: Path) -> None:
        text = (pkg / rel).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        (pkg / rel).write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def write(rel: str, data: str | bytes) -> Edit:
    def edit(pkg: Path) -> None:
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))

    return edit


def descriptor(change: Callable[[dict], object]) -> Edit:
    """Change the descriptor's JSON in place (`change` may mutate the dict)."""

    def edit(pkg: Path) -> None:
        doc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
        change(doc)
        (pkg / "datapackage.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")

    return edit


def resource(name: str, **props: object) -> Edit:
    """Set (or, with None, drop) properties of one resource of the descriptor."""

    def change(doc: dict) -> None:
        res = next(r for r in doc["resources"] if r["name"] == name)
        for key, value in props.items():
            res.pop(key, None) if value is None else res.__setitem__(key, value)

    return descriptor(change)


def schema(table: str, change: Callable[[dict], object]) -> Edit:
    def edit(pkg: Path) -> None:
        path = pkg / "schemas" / f"{table}.json"
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")

    return edit


def cells(table: str, key: str, **values: str) -> Edit:
    """Set cells of one row of our package and pin its file again (only the edit differs)."""
    return lambda pkg: edit_cells(pkg, table, key, **values)


def sparse(rel: str, size: int) -> Edit:
    """Make `rel` a file of `size` bytes without writing them (a sparse file: size is what the toolkit checks)."""

    def edit(pkg: Path) -> None:
        with open(pkg / rel, "r+b") as fh:
            fh.truncate(size)

    return edit


def json_table(text: str, **props: object) -> Edit:
    """Add a JSON table resource `extra` holding `text`."""
    add = descriptor(lambda d: d["resources"].append(
        {"name": "extra", "type": "table", "path": "resources/extra.json", "format": "json", **props}))
    return both(write("resources/extra.json", text), add)


def both(*edits: Edit) -> Edit:
    return lambda pkg: [e(pkg) for e in edits]


def twin(table: str, key: str) -> Edit:
    """Add a copy of the row whose first cell is `key`, under the id `<key>-again`: one figure stored twice."""

    def edit(pkg: Path) -> None:
        path = pkg / "resources" / f"{table}.csv"
        text = path.read_text(encoding="utf-8")
        (row,) = [line for line in text.splitlines(keepends=True) if line.startswith(f"{key},")]
        path.write_text(text + row.replace(f"{key},", f"{key}-again,", 1), encoding="utf-8")

    return edit


def drop(table: str, key: str) -> Edit:
    """Delete the row whose first cell is `key`: a figure the article prints, no longer tabulated."""

    def edit(pkg: Path) -> None:
        path = pkg / "resources" / f"{table}.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(f"{key},")]
        assert len(kept) == len(lines) - 1, f"no row {key} in {table}"
        path.write_text("".join(kept), encoding="utf-8")

    return edit


def version_of_last_release(pkg: Path) -> None:
    """The descriptor's version set back to the last recorded release's (releases/last): no bump at all."""
    last = json.loads((pkg / "releases" / "last" / "datapackage.json").read_text(encoding="utf-8"))["version"]
    descriptor(lambda d: d.update(version=last))(pkg)


def pinned(edit: Edit) -> Edit:
    """The edit, then every file pinned again (as `cbj-figures rehash` does), so only the edit differs."""
    return both(edit, rehash)


# ------------------------------------------------------------------ the cases


@dataclass(frozen=True)
class Case:
    package: str  # "mini" or "ours"
    edit: Edit
    command: tuple[str, ...] = ("validate",)
    fault: str | None = None  # "module:function" of the toolkit made to raise: a bug of ours, injected


def mini(edit: Edit, *command: str) -> Case:
    return Case("mini", edit, command or ("validate",))


def ours(edit: Edit, *command: str) -> Case:
    return Case("ours", edit, command or ("validate",))


HEADER = "figure_id,year,value,printed,qualifier,source_id,quote"
FIGURE = "rev,2024,520,5.20亿元,exact,S01"

CASES: dict[str, Case] = {
    # -- the descriptor
    "package-error": mini(descriptor(lambda d: d["resources"].append(d["resources"][0]))),  # a name twice
    "resource-error": mini(resource("article", path=None)),
    "schema-error": mini(schema("figures", lambda s: s.update(primaryKey=["nope"]))),
    "field-error": mini(schema("figures", lambda s: s["fields"][1].update(type="no-such-type"))),
    "dialect-error": mini(resource("figures", dialect={"header": "yes"})),
    "metadata-error": mini(descriptor(lambda d: d.update(profile="data-resource"))),  # not a package profile
    "profile-error": mini(resource("figures", title=7)),
    "hash-count": mini(resource("figures", hash="sha256:" + "0" * 64)),
    "byte-count": mini(resource("figures", bytes=1)),
    "unsafe-path": mini(resource("figures", path="../figures.csv")),
    "too-large": mini(both(resource("article", hash="sha256:" + "0" * 64), sparse(ARTICLE, MAX_DATA + 1))),
    "too-complex": mini(json_table("[" * 150 + "]" * 150)),
    "unsupported": mini(resource("figures", hash="sha3_256:" + "0" * 64)),
    "not-checked": mini(resource("figures", profile="https://example.org/profile.json")),
    "internal-error": Case("mini", both(), fault="cbj_figures.descriptor:check_descriptor"),
    "profile-required": mini(write("pyproject.toml", '[tool.cbj-figures]\nprofile = '
                                   '"https://cbj-figures.github.io/cbj-figures/profiles/1.0/datapackage.json"\n')),
    "duplicate-field-name": mini(schema("figures", lambda s: s["fields"][1].update(name="figure_id"))),
    "schema-inferred": mini(resource("figures", schema=None)),
    # -- reading a table
    "scheme-error": mini(resource("figures", path="resources/no-such-file.csv")),
    "source-error": mini(write(FIGURES, "")),
    "format-error": mini(json_table('[["a", "b"], [1, 2')),
    "encoding-error": mini(write(FIGURES, f"{HEADER}\n{FIGURE},营收5.20亿元\n".encode("gbk"))),
    "compression-error": mini(both(write("resources/figures.csv.gz", "not gzip"),
                                   resource("figures", path="resources/figures.csv.gz"))),
    # -- the header
    "blank-header": mini(json_table('[[], [1, 2]]', schema={"fields": [{"name": "a"}, {"name": "b"}]})),
    "unmatched-header": mini(both(schema("figures", lambda s: s.update(fieldsMatch="partial")),
                                  replace(FIGURES, HEADER, "a,b,c,d,e,f,g"))),
    "blank-label": mini(replace(FIGURES, "figure_id,year,", "figure_id,,")),
    "duplicate-label": mini(replace(FIGURES, "figure_id,year,", "figure_id,figure_id,")),
    "incorrect-label": mini(replace(FIGURES, "figure_id,year,", "figure_id,years,")),
    "extra-label": mini(replace(FIGURES, "source_id,quote", "source_id,quote,extra")),
    "missing-label": mini(replace(FIGURES, "source_id,quote", "source_id")),
    # -- rows and cells
    "blank-row": mini(replace(FIGURES, "\nrev,2023,", "\n,,,,,,\nrev,2023,")),
    "extra-cell": mini(replace(FIGURES, "营收约3.18亿元", "营收约3.18亿元,extra")),
    "missing-cell": mini(replace(FIGURES, ",营收约3.18亿元", "")),
    "type-error": mini(replace(FIGURES, ",11.5,", ",abc,")),
    "constraint-error": mini(replace(FIGURES, "exact", "exactly")),
    "unique-error": mini(replace(SOURCES, "S03,S01,2024", "S02,S01,2024")),
    "primary-key": mini(replace(FIGURES, "rev,2023", "rev,2024")),
    "foreign-key": mini(replace(FIGURES, ",S03,", ",S09,")),
    # -- conventions: the field registry and generated files
    "registry-error": ours(write("schemas/fields.yaml", "fields: [unclosed\n")),
    "stale-schema": ours(schema("market_size", lambda s: s.update(description="edited by hand"))),
    "stale-export": ours(write("validators/pandera/market_size.py", "# edited by hand\n")),
    "convention-error": ours(cells("leasing_deals", "zhongyin-2026-01-09", date="2026-02-30")),
    # -- conventions: consistency rules
    "rule-failed": ours(cells("company_financials", "jiliu-revenue-2025-products", value="473", printed="4.73亿元",
                              quote="2025年,基流科技AI算力集群产品收入为4.73亿元")),
    "rule-error": ours(write("checks/extra.yaml", "rules:\n  - id: x\n    kind: summ\n")),
    "waiver-error": ours(write("checks/extra.yaml", "rules: []\nwaivers:\n  - {rule: nope, reason: x}\n")),
    # -- conventions: evidence
    "source-text": ours(cells("sources", "jiliu-prospectus", reported_in="")),
    "quote-missing": ours(cells("company_financials", "jiliu-revenue-2025-products", quote="")),
    "quote-not-in-source": ours(cells("company_financials", "jiliu-revenue-2025-products",
                                      quote="2025年,基流科技AI算力集群产品收入达4.37亿元")),
    "printed-missing": ours(cells("company_financials", "jiliu-revenue-2025-products", printed="")),
    "printed-not-in-quote": ours(cells("company_ratios", "jiliu-gross-margin-2025-total",
                                       quote="基流科技整体毛利率由2024年的20.1%")),
    "printed-unparseable": ours(cells("company_ratios", "jiliu-market-share-2025", qualifier="exact")),
    "qualifier-unprinted": ours(cells("industry_counts", "leasing-companies-in-satellite-business-2026",
                                      quote="等14家金融租赁公司落地商业卫星相关业务")),
    "printed-value-mismatch": ours(cells("company_financials", "jiliu-revenue-2025-operations", value="83.64")),
    "verbatim-not-in-source": ours(cells("entities", "guodian_gaoke", short_name_zh="国电高科技")),
    # -- conventions: what a row says about its figure
    "forecast-flag": ours(cells("market_size", "ai-compute-cluster-market-2030", is_forecast="false")),
    "period-not-in-quote": ours(cells("market_size", "ai-compute-cluster-market-2021", inferred="true",
                                      inference_note="x")),
    "attribution-missing": ours(cells("company_ratios", "jiliu-major-customer-repurchase-rate", attributed_to="")),
    "duplicate-figure": ours(pinned(twin("market_size", "ai-compute-cluster-market-2021"))),
    "metric-span": ours(cells("company_ratios", "jiliu-revenue-growth-2025-products", base_period="2023")),
    "reference-kind": ours(cells("leasing_deals", "zhongyin-2026-01-09", lessor_id="jiliu_technology")),
    "reference-not-in-quote": ours(cells("market_size", "ai-compute-cluster-market-2021",
                                         entity_id="china_commercial_space_market")),
    "unaccounted-number": ours(pinned(drop("company_financials", "jiliu-adjusted-net-profit-2024"))),
    # -- releases (`check-version`)
    "version-format": ours(descriptor(lambda d: d.update(version="1.1")), "check-version"),
    "version-bump": ours(both(version_of_last_release, cells("market_size", "ai-compute-cluster-market-2021",
                                                             note="a change")), "check-version"),
    "changelog": ours(descriptor(lambda d: d.update(version="99.0.0")), "check-version"),
}


# ------------------------------------------------------------------ running a case


def codes_reported(command: tuple[str, ...], pkg: Path) -> set[str]:
    """Run `cbj-figures <command> <pkg>` in this process; the codes it reports (validate: its JSON report)."""
    name, *flags = command
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        if name == "validate":
            rc = main([name, str(pkg), *flags, "--format", "json"])
        else:
            rc = main([name, str(pkg), *flags])
    text = out.getvalue()
    assert rc in (0, 1), f"`{name}` could not judge the package (exit {rc}):\n{text[-2000:]}"  # 0: notes only
    if name == "validate":
        return {f["code"] for f in json.loads(text)["findings"]}
    return set(re.findall(r": ([a-z]+(?:-[a-z]+)*): ", text))  # `file: code: message` lines


def make(case: Case, tmp_path: Path) -> Path:
    pkg = Path(shutil.copytree(MINI, tmp_path / "mini")) if case.package == "mini" else copy_package(tmp_path / "pkg")
    case.edit(pkg)
    return pkg


def test_every_registered_code_has_a_case() -> None:
    assert sorted(set(CODES) - set(CASES)) == [], "a registered code without a case below"
    assert sorted(set(CASES) - set(CODES)) == [], "a case for a code that is not registered"


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_case_produces_its_code(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[code]
    pkg = make(case, tmp_path)
    if case.fault:
        module, function = case.fault.split(":")

        def bug(*args: object, **kwargs: object) -> None:
            raise RuntimeError("an injected bug")

        monkeypatch.setattr(f"{module}.{function}", bug)
    assert code in codes_reported(case.command, pkg)


def test_the_cases_start_from_valid_packages(tmp_path: Path) -> None:
    """Unedited, both packages are valid: each code comes from its case's edit."""
    for name, root in (("mini", MINI), ("ours", copy_package(tmp_path / "ours"))):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["validate", str(root)]) == 0, f"{name}:\n{out.getvalue()[-2000:]}"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["check-version", str(tmp_path / "ours")]) == 0

