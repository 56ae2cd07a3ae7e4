"""Benchmark `cbj-figures validate` against a hand-written polars validator (the floor) and frictionless.

Run from the repository root, with the project's virtual environment:

    .venv/bin/python benchmarks/bench.py            # the full run (~3 minutes); writes docs/benchmark.md
    .venv/bin/python benchmarks/bench.py --quick    # 100k rows, fewer runs: a smoke run (writes nothing
                                                    # unless --out is given)

One run measures, side by side, each command in a fresh process (cold: interpreter start and
imports included), wall time and the peak RSS of that process (os.wait4), runs of the tools
interleaved so that they share the machine's load:

a. figures: a generated standard Data Package (v2) whose 1M-row table has the shape of our
   figure tables (benchmarks/packages.py): `cbj-figures validate` and `benchmarks/floor.py`,
   several runs each, `frictionless validate` once; and checks that ours and the floor find it
   valid, and find its broken variant (the last row's entity dangles) invalid at the right line;
b. gdp: the shape of the public datasets/gdp package (v1, one table, no keys, no hash) repeated
   to 1M rows: the same three;
c. this repository's package (which opts into the conventions, so ours runs three more layers):
   ours and frictionless, for information.

It then times one in-process run of each tool per 1M package, layer by layer, and writes the
report. Everything it writes goes to a temporary folder, but the report.

`--layers PKG` and `--floor-layers PKG` (internal) print those in-process timings as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
sys.path.insert(0, str(HERE))

WALL_RATIO, RSS_RATIO, FRICTIONLESS_SPEEDUP = 1.5, 1.25, 5.0  # the targets of issue 9, point 6
LARGE = {"10M": 10_000_000, "100M": 100_000_000}  # the sizes larger than memory would allow in one piece (issue 17)
LARGE_RSS = {"10M": 1024, "100M": 4096}  # MiB: the peak RSS ours may reach at each size
IN_MEMORY_FLOOR_ROWS = 10_000_000  # both floors need ~4 GB at 10M rows (polars' streaming engine keeps the distinct
# keys and more): at 100M rows they would need ~40 GB, more than this machine has
BYTES_PER_ROW = 160  # of the figures shape's CSV (1.47 GiB at 10M rows)


# ------------------------------------------------------------------ measuring


@dataclass
class Run:
    wall: float
    rss_mib: float
    rc: int
    out: str


@dataclass
class Result:
    package: str
    tool: str
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def rss(self) -> float:
        return statistics.median(r.rss_mib for r in self.runs)

    def spread(self) -> str:
        walls = sorted(r.wall for r in self.runs)
        return f"{walls[0]:.2f}-{walls[-1]:.2f}" if len(walls) > 1 else "-"


def measure(cmd: list[str], cwd: Path | None = None) -> Run:
    """Wall time and peak RSS of one fresh process (os.wait4: that child's own rusage)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return Run(wall, usage.ru_maxrss / 1024, proc.returncode, text)


def ours(pkg: Path, *extra: str) -> list[str]:
    exe = Path(PY).with_name("cbj-figures")
    return [str(exe), "validate", str(pkg), *extra] if exe.exists() else [
        PY, "-m", "cbj_figures.cli", "validate", str(pkg), *extra]


def floor(pkg: Path, *, streaming: bool = False) -> list[str]:
    return [PY, str(HERE / "floor.py"), *(["--streaming"] if streaming else []), str(pkg / "datapackage.json")]


def frictionless(pkg: Path) -> list[str]:
    exe = Path(PY).with_name("frictionless")
    return [str(exe) if exe.exists() else "frictionless", "validate", str(pkg / "datapackage.json")]


def interleaved(package: str, tools: dict[str, list[str]], runs: dict[str, int]) -> list[Result]:
    """Runs of several tools taken in turn (ours, floor, ours, floor, ...), each expected to exit 0."""
    results = {tool: Result(package, tool) for tool in tools}
    for i in range(max(runs.values())):
        for tool, cmd in tools.items():
            if i >= runs[tool]:
                continue
            run = measure(cmd)
            if run.rc != 0:
                raise SystemExit(f"{tool} on {package}: exit {run.rc}\n{run.out[-3000:]}")
            results[tool].runs.append(run)
            print(f"  {package:<9} {tool:<24} {run.wall:6.2f} s {run.rss_mib:7.0f} MiB", flush=True)
    return list(results.values())


# ------------------------------------------------------------------ in-process timings (subcommands)


def layers(pkg: Path) -> None:
    """One in-process `validate`, timed by layer, the tables layer split into reading, checking, foreign keys."""
    t0 = time.perf_counter()
    from cbj_figures import read, render, tables, validate

    times = {"imports (cbj_figures, polars, pyarrow)": time.perf_counter() - t0}
    peaks = {"imports (cbj_figures, polars, pyarrow)": peak_rss()}

    def timed(name: str, f):
        def run(*a, **k):
            start = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - start
                peaks[name] = peak_rss()
        return run

    tables.read_table = timed("tables: open (frictionless opens the resource, reads a sample)", read.read_table)
    tables.check_batch = timed("tables: types, constraints (batch by batch)", tables.check_batch)
    tables._repeat_findings = timed("tables: repeated keys (the hashes sorted)", tables._repeat_findings)
    layered = []
    for layer in validate.LAYERS:
        name = f"layer {layer.name}"
        if layer.name == "descriptor":
            name = "descriptor (imports frictionless; its rules; profile; sha256)"
        layered.append(validate.Layer(layer.name, timed(name, layer.run), layer.conventions, layer.cross_check))
    validate.LAYERS = tuple(layered)
    report = validate.validate(pkg)
    timed("render", lambda: render.render(report, "text"))()
    inner = ["tables: open (frictionless opens the resource, reads a sample)",
             "tables: types, constraints (batch by batch)", "tables: repeated keys (the hashes sorted)"]
    if "layer tables" in times:  # the tables layer, split
        times["tables: the rest"] = times.pop("layer tables") - sum(times.get(k, 0.0) for k in inner)
        peaks["tables: the rest"] = peaks.pop("layer tables")
    order = [k for k in times if k not in [*inner, "tables: the rest", "render"]] + inner + ["tables: the rest",
                                                                                             "render"]
    ordered = {k: times[k] for k in order if k in times}
    ordered["total"] = time.perf_counter() - t0
    peaks["total"] = peak_rss()
    print(json.dumps({"times": ordered, "peaks": peaks, "valid": report.valid}))


def peak_rss() -> float:
    """This process's peak RSS so far, MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_layers(pkg: Path) -> None:
    """One in-process run of the floor validator, timed: imports, reading, the rest."""
    t0 = time.perf_counter()
    import floor as fl
    import polars as pl

    times = {"imports (polars)": time.perf_counter() - t0}
    peaks = {"imports (polars)": peak_rss()}
    read_csv = pl.read_csv

    def timed_read(*a, **k):
        start = time.perf_counter()
        try:
            return read_csv(*a, **k)
        finally:
            times["read (polars)"] = times.get("read (polars)", 0.0) + time.perf_counter() - start
            peaks["read (polars)"] = peak_rss()

    fl.pl.read_csv = timed_read  # type: ignore[assignment]
    start = time.perf_counter()
    errors = fl.validate(pkg / "datapackage.json")
    times["checks, keys, sha256 (and waiting for it)"] = time.perf_counter() - start - times["read (polars)"]
    times["total"] = time.perf_counter() - t0
    peaks["checks, keys, sha256 (and waiting for it)"] = peaks["total"] = peak_rss()
    print(json.dumps({"times": times, "peaks": peaks, "valid": not errors}))


def generate(kind: str, folder: Path, rows: int) -> dict:
    """A package written by a child process, so that this one stays small: the peak RSS os.wait4 reports
    for a child is at least its parent's at the fork (Linux counts the address space it had before exec)."""
    run = measure([PY, __file__, "--generate", kind, str(folder), str(rows)])
    if run.rc != 0:
        raise SystemExit(f"generating {kind}: exit {run.rc}\n{run.out[-3000:]}")
    return json.loads(run.out.strip().splitlines()[-1])


def in_process(flag: str, pkg: Path) -> dict:
    run = measure([PY, __file__, flag, str(pkg)])
    if run.rc != 0:
        raise SystemExit(f"{flag} {pkg}: exit {run.rc}\n{run.out[-3000:]}")
    return json.loads(run.out.strip().splitlines()[-1])


# ------------------------------------------------------------------ checks of the generated packages


def check_broken(pkg: Path, line: int, tmp: Path) -> str:
    """Ours and the floor find the broken package invalid, at the dangling foreign key of its last line."""
    report = tmp / "broken.json"
    run = measure(ours(pkg, "--json", str(report)))
    found = [(f["code"], f["file"], f["line"]) for f in json.loads(report.read_text(encoding="utf-8"))["findings"]]
    expected = [("foreign-key", "resources/observations.csv", line)]
    if run.rc != 1 or found != expected:
        raise SystemExit(f"broken package: ours exit {run.rc}, findings {found}, expected {expected}")
    flo = measure(floor(pkg))
    if flo.rc != 1 or f"observations:{line}:" not in flo.out:
        raise SystemExit(f"broken package: floor exit {flo.rc}, expected line {line}\n{flo.out[-2000:]}")
    return (f"The broken variant (its last row's entity_id is not a region) is reported INVALID by both, "
            f"ours with exactly one finding, `foreign-key` at resources/observations.csv line {line:,}.")


def frictionless_verdict(run: Run) -> str:
    return "VALID" if run.rc == 0 and "INVALID" not in run.out else f"not valid (exit {run.rc})"


def large(sizes: list[str], runs: int) -> tuple[list[Result], list[str], dict[str, dict]]:
    """The figures shape at 10M and 100M rows, generated into a temporary folder (removed after each size): ours,
    the streaming floor, and the in-memory floor where it fits. Free disk is checked first."""
    results: list[Result] = []
    notes: list[str] = []
    facts: dict[str, dict] = {}
    for label in sizes:
        rows = LARGE[label]
        with tempfile.TemporaryDirectory(prefix="cbj-bench-large-") as tmp_name:
            tmp = Path(tmp_name)
            need, free = rows * BYTES_PER_ROW * 1.3, shutil.disk_usage(tmp).free  # the CSV, and DuckDB's spill
            if free < need:
                notes.append(f"{label}: not run: {free / 2**30:.0f} GiB free in {tmp}, about {need / 2**30:.0f} GiB"
                             " needed (the CSV and the spilled key sets)")
                print(notes[-1], flush=True)
                continue
            pkg = tmp / "figures"
            start = time.perf_counter()
            facts[label] = generate("figures", pkg, rows)
            print(f"{label}: generated {facts[label]['mib']:.0f} MiB in {time.perf_counter() - start:.0f} s "
                  f"(load {load()})", flush=True)
            tools = {"cbj-figures validate": ours(pkg)}
            if rows <= IN_MEMORY_FLOOR_ROWS:
                tools |= {"floor.py": floor(pkg), "floor.py --streaming": floor(pkg, streaming=True)}
            n = runs if rows <= IN_MEMORY_FLOOR_ROWS else 1
            results += interleaved(label, tools, dict.fromkeys(tools, n))
            facts[label]["load"] = load()
    return results, notes, facts


# ------------------------------------------------------------------ report


def machine() -> list[str]:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor() or "?")
    mem = next((ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")),
               "0")
    versions = []
    for dist in ("polars", "pyarrow", "frictionless", "jsonschema", "numpy"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist} (not installed)")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!docs/benchmark.md"], capture_output=True, text=True).stdout.strip()
    return [
        f"- CPU: {model}, {os.cpu_count()} cores; memory {int(mem) / 2**20:.1f} GiB",
        f"- Python {platform.python_version()}, {platform.platform()}",
        f"- {', '.join(versions)}",
        f"- toolkit at commit {commit}{' (with uncommitted changes)' if dirty else ''}",
    ]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def results_table(results: list[Result]) -> list[str]:
    lines = ["| package | tool | runs | median wall s | range s | median peak RSS MiB |",
             "|---|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.package} | {r.tool} | {len(r.runs)} | {r.wall:.2f} | {r.spread()} | {r.rss:.0f} |")
    return lines


def verdict(ok: bool) -> str:
    return "**holds**" if ok else "**FAILS**"


def layers_table(title: str, rows: dict[str, dict]) -> list[str]:
    names: list[str] = []
    for v in rows.values():
        names += [n for n in v["times"] if n not in names]
    lines = [f"| {title} | " + " | ".join(rows) + " |", "|---|" + "---:|" * len(rows)]
    for name in names:
        cells = [f"{v['times'][name]:.2f} s, {v['peaks'][name]:.0f} MiB" if name in v["times"] else "-"
                 for v in rows.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def where_it_goes(timings: dict, start_ours: Result, start_floor: Result) -> list[str]:
    """A few sentences on what ours does that the floor does not, with the in-process figures."""
    ours, flo = timings["ours, figures"], timings["floor, figures"]

    def at(run: dict, prefix: str) -> tuple[float, float, float]:
        """(seconds, peak RSS after, peak RSS before) of the first row named `prefix...`."""
        names = list(run["times"])
        name = next(n for n in names if n.startswith(prefix))
        before = run["peaks"][names[names.index(name) - 1]] if names.index(name) else 0.0
        return run["times"][name], run["peaks"][name], before

    descriptor, d_peak, d_before = at(ours, "descriptor")
    read, r_peak, r_before = at(ours, "tables: open")
    checks, c_peak, c_before = at(ours, "tables: types")
    f_read, f_peak, f_before = at(flo, "read")
    f_checks, f_end, _ = at(flo, "checks")
    return [
        "What ours does that the floor does not, and what it costs (figures, in process; + MiB: growth of the"
        " peak RSS):",
        "",
        f"- imports: a cold start with ours' imports takes {start_ours.wall - start_floor.wall:.2f} s and"
        f" {start_ours.rss - start_floor.rss:.0f} MiB more than one with polars alone (pyarrow, frictionless and its"
        " pydantic, jsonschema);",
        f"- the descriptor layer, {descriptor:.2f} s and +{d_peak - d_before:.0f} MiB: importing frictionless and"
        " applying its metadata rules, the official JSON Schema profiles, and (in a second thread) sha256 and"
        " bytes;",
        f"- opening, {read:.2f} s and +{r_peak - r_before:.0f} MiB: frictionless opens the resource (dialect,"
        " encoding, header as it reads them); the floor's whole read takes"
        f" {f_read:.2f} s and +{f_peak - f_before:.0f} MiB;",
        f"- typing and checking batch by batch, {checks:.2f} s and +{c_peak - c_before:.0f} MiB (pyarrow parses"
        " the next batch in a thread meanwhile, under 'the rest'), against the floor's"
        f" {f_checks:.2f} s and +{f_end - f_peak:.0f} MiB for its checks, keys and the hash: ours keeps each rule's"
        " failing rows, to locate and explain each one (the floor only counts them), counts each row's lines, and"
        " keeps one hash a row for each key.",
    ]


MEMORY_MODEL = [
    "What grows with what (`cbj-figures validate`, a standard package):",
    "",
    "- a batch: about 8 MiB of CSV text at a time (`CBJ_FIGURES_BATCH_BYTES`), as pyarrow's text columns, their"
    " polars copies and the typed columns of that batch, with the next batch parsed meanwhile: a constant, some"
    " hundred MiB with the interpreter and the libraries;",
    "- uniqueness (a `unique` field, the primary key, each of `uniqueKeys`): 8 bytes a row for each, 8 more for a rule"
    " that skips rows (empty cells); past 512 MiB (`CBJ_FIGURES_KEY_MEMORY`) they go to DuckDB, which keeps at most"
    " 512 MiB in memory and spills the rest to a temporary folder it removes;",
    "- foreign keys: the distinct values of each referenced key (the referenced table's, not the referencing"
    " one's), spilled alike; a table that references itself keeps its own key values until its end;",
    "- findings: one object each (a table with every row wrong grows with its rows);",
    "- not the rows: a table's typed rows are kept only for a package that opts into the conventions (its data are"
    " figures, which the later layers read) or with `--all`.",
    "",
    "Time grows with the bytes of CSV (one parse, one hash pass in a second thread); a repeated key costs a second"
    " pass over its table, to compare the rows whose hashes are equal by value.",
]


def large_report(results: list[Result], facts: dict[str, dict], in_memory: list[Result]) -> list[str]:
    if not results:
        return ["Not run (`--quick`, `--large none`, or not enough free disk: see the checks below).", ""]
    by = {(r.package, r.tool): r for r in results}
    sizes = ", ".join(f"{k} rows ({v['mib'] / 1024:.2f} GiB of CSV)" for k, v in facts.items())
    lines = [
        f"The figures shape again, larger: {sizes}."
        " Ours, the floor in polars' streaming engine (`floor.py --streaming`: the same query over `scan_csv`,"
        " collected in batches) and the in-memory floor where they fit: both need about 4 GB at 10M rows (the"
        " streaming engine keeps more than the distinct keys), some 40 GB at 100M, so at 100M ours runs alone."
        " frictionless is measured at 1M rows only (above): at 10M it took 532 s and 2.2 GB in issue 17's"
        " measurement, at 100M about 90 minutes.",
        "",
        *results_table(in_memory + results),
        "",
        "Targets (issue 17):",
        "",
    ]
    for label, cap in LARGE_RSS.items():
        o = by.get((label, "cbj-figures validate"))
        if o is None:
            lines.append(f"- {label}: not run.")
            continue
        text = f"- {label} rows: peak RSS {o.rss:.0f} MiB <= {cap} MiB: {verdict(o.rss <= cap)}"
        f_mem = by.get((label, "floor.py"))
        if f_mem is not None:
            ratio = o.wall / f_mem.wall
            text += f"; wall {o.wall:.1f} s / in-memory floor {f_mem.wall:.1f} s = **{ratio:.2f}x** (<= {WALL_RATIO}x:"
            text += f" {verdict(ratio <= WALL_RATIO)})"
        f_str = by.get((label, "floor.py --streaming"))
        if f_str is not None:
            text += f"; the streaming floor: {f_str.wall:.1f} s, {f_str.rss:.0f} MiB"
        lines.append(text + f" (load at the end of this size: {facts[label].get('load', '?')}).")
    return [*lines, "", *MEMORY_MODEL, ""]


def write_report(out: Path, size: str, results: list[Result], facts: dict, timings: dict, notes: list[str],
                 loads: list[str], large_results: list[Result] | None = None, large_facts: dict | None = None) -> None:
    by = {(r.package, r.tool): r for r in results}
    fig_o, fig_f = by[("figures", "cbj-figures validate")], by[("figures", "floor.py")]
    gdp_o, gdp_f = by[("gdp", "cbj-figures validate")], by[("gdp", "floor.py")]
    gdp_fl = by[("gdp", "frictionless validate")]
    fig_fl = by[("figures", "frictionless validate")]
    wall, rss = fig_o.wall / fig_f.wall, fig_o.rss / fig_f.rss
    speedup = gdp_fl.wall / gdp_o.wall
    start_ours, start_floor = by[("-", "start-up + imports of ours")], by[("-", "start-up + imports of the floor")]
    lines = [
        "# Benchmark",
        "",
        "Generated by `benchmarks/bench.py`; do not edit by hand. To rerun (about half an hour with the 10M and",
        "100M rows, which need about 20 GB of free disk in the temporary folder; it writes only there and this file):",
        "",
        "    .venv/bin/python benchmarks/bench.py                # --large 10M: without the 100M rows",
        "",
        "Every measured run is a fresh process (cold: interpreter start and imports included). Wall time and",
        "peak RSS (os.wait4 of that process) are the median of its runs; the runs of ours and of the floor",
        "alternate, so they share the machine's load.",
        "",
        "## Machine",
        "",
        *machine(),
        f"- load average (1, 5, 15 min) at the start, before the {size} runs and at the end: {'; '.join(loads)}."
        " The machine is shared: other jobs may run on its 2 cores, so wall times vary from run to run (the range"
        " column) and from one report to the next; the ratios below are of runs taken in turn.",
        "",
        "## What is compared",
        "",
        f"- **figures** ({size} rows): a generated standard Data Package (v2, no conventions) with the shape of our"
        " figure tables: `observations` has the 16 fields of `schemas/company_financials.json` (patterns, enums,"
        " `minimum`, `minLength`, booleans, a unique primary key, three foreign keys), beside the `regions` and"
        " `sources` tables it references; every file's sha256 and size are declared; each quote is a quoted CSV"
        f" cell. {facts['figures']['mib']:.0f} MiB of CSV.",
        f"- **gdp** ({size} rows): the shape of the public `datasets/gdp` package (v1 descriptor, one table: Country"
        " Name, Country Code, Year as `year`, Value as `number`; no keys, no hash), its 264 countries x 57 years"
        f" repeated; one country in eight has a comma in its name, so its cells are quoted."
        f" {facts['gdp']['mib']:.0f} MiB of CSV.",
        "- **this repository's package**: opts into our conventions, so ours also runs the conventions,"
        " consistency and provenance layers that frictionless knows nothing of (for information).",
        "- `cbj-figures validate PKG`: the layers that apply to a standard package, the descriptor layer"
        " (frictionless's metadata rules, the official JSON Schema profile, sha256 and bytes) and the tables layer"
        " (header, types, constraints, keys, foreign keys, each finding at its row and line); not the pandera and"
        " Great Expectations cross-checks (`--all`).",
        "- `benchmarks/floor.py`: the floor, a hand-written polars validator of the same checks on these packages"
        " (header, types, required, unique, pattern, enum, minimum, minLength, primary and foreign keys, sha256 and"
        " bytes) and nothing else: no descriptor rules, no profile, no locations, no messages per row.",
        "- `frictionless validate datapackage.json`: frictionless-py, row by row (one run at 1M rows).",
        f"- The benchmark's own process peaked at {peak_rss():.0f} MiB (every child's reported peak RSS is at least"
        " its parent's at the fork, so the parent generates nothing itself).",
        "",
        "## Results",
        "",
        *results_table(results),
        "",
        "## Targets (issue 9, point 6)",
        "",
        f"- Wall at {size} rows (figures) within {WALL_RATIO}x of the floor: {fig_o.wall:.2f} s / {fig_f.wall:.2f} s"
        f" = **{wall:.2f}x**: {verdict(wall <= WALL_RATIO)} (before the redesign: 2.5x, 4.0 s vs 1.35 s).",
        f"- Peak RSS at {size} rows (figures) at most the floor's + 25%: {fig_o.rss:.0f} MiB / {fig_f.rss:.0f} MiB"
        f" = **{rss:.2f}x**: {verdict(rss <= RSS_RATIO)} (before: 999 MiB vs 625 MiB).",
        f"- gdp shape at {size} rows at least {FRICTIONLESS_SPEEDUP:.0f}x faster than frictionless:"
        f" {gdp_fl.wall:.1f} s / {gdp_o.wall:.2f} s = **{speedup:.1f}x**: {verdict(speedup >= FRICTIONLESS_SPEEDUP)}.",
        "",
        f"For information: on figures ours is {fig_fl.wall / fig_o.wall:.1f}x faster than frictionless. On the gdp"
        f" shape ({facts['gdp']['mib']:.0f} MiB of CSV, against {facts['figures']['mib']:.0f} MiB for figures) ours"
        f" takes {gdp_o.wall / gdp_f.wall:.2f}x the floor's wall and {gdp_o.rss / gdp_f.rss:.2f}x its peak RSS (no"
        " target). A fresh interpreter that only imports what ours imports to validate a standard package takes"
        f" {start_ours.wall:.2f} s and {start_ours.rss:.0f} MiB, one that imports polars alone (the floor's)"
        f" {start_floor.wall:.2f} s and {start_floor.rss:.0f} MiB: of the difference on gdp"
        f" ({gdp_o.wall - gdp_f.wall:.2f} s, {gdp_o.rss - gdp_f.rss:.0f} MiB), that import floor accounts for"
        f" {start_ours.wall - start_floor.wall:.2f} s and {start_ours.rss - start_floor.rss:.0f} MiB; the rest is"
        " mostly reading (below).",
        "",
        "## Where the time and memory go (one in-process run each)",
        "",
        "Each cell: seconds, then the process's peak RSS so far. Each row of ours is a layer of `validate` (a"
        " layer's first use of a library includes importing it);",
        "the tables layer is split into reading (frictionless opens the resource and reads a sample, pyarrow",
        "parses the CSV in bulk, the columns become polars columns), typing and checking each table, and foreign",
        "keys. The cold wall time above adds interpreter start-up and the process's exit.",
        "",
        *layers_table("ours", {k: v for k, v in timings.items() if k.startswith("ours")}),
        "",
        *layers_table("floor", {k: v for k, v in timings.items() if k.startswith("floor")}),
        "",
        *where_it_goes(timings, start_ours, start_floor),
        "",
        "## Larger than memory (issue 17)",
        "",
        *large_report(large_results or [], large_facts or {}, [fig_o, fig_f]),
        "## Checks of the benchmark itself",
        "",
        *[f"- {n}" for n in notes],
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


# ------------------------------------------------------------------ main


OUR_IMPORTS = ("cbj_figures.cli", "cbj_figures.validate", "cbj_figures.descriptor", "cbj_figures.tables",
               "frictionless", "jsonschema", "dplib", "pyarrow.csv", "pyarrow.compute")  # what validate imports


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100k rows, fewer runs, frictionless skipped on figures")
    p.add_argument("--runs", type=int, help="cold runs of ours and of the floor per package (default 5, quick 2)")
    p.add_argument("--out", help="the report (default docs/benchmark.md; with --quick, none)")
    p.add_argument("--large", choices=("none", "10M", "100M"), default="100M",
                   help="the larger sizes to run, up to this one (default 100M; --quick: none)")
    p.add_argument("--layers", metavar="PKG", help=argparse.SUPPRESS)
    p.add_argument("--floor-layers", metavar="PKG", help=argparse.SUPPRESS)
    p.add_argument("--generate", nargs=3, metavar=("KIND", "DIR", "ROWS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.generate:
        import packages

        kind, folder, count = args.generate
        make = packages.gdp if kind == "gdp" else packages.figures
        extra = {"broken": True} if kind == "broken" else {}
        print(json.dumps(make(Path(folder), int(count), **extra)))
        return None
    if args.layers:
        return layers(Path(args.layers))
    if args.floor_layers:
        return floor_layers(Path(args.floor_layers))

    rows = 100_000 if args.quick else 1_000_000
    size = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    n = args.runs or (2 if args.quick else 5)
    out = Path(args.out) if args.out else (None if args.quick else REPO / "docs" / "benchmark.md")
    loads = [load()]
    results: list[Result] = []
    notes: list[str] = []
    timings: dict[str, dict] = {}
    facts: dict[str, dict] = {}
    print(f"load average {loads[0]}", flush=True)
    results += interleaved("-", {
        "start-up + imports of ours": [PY, "-c", "import " + ", ".join(OUR_IMPORTS)],
        "start-up + imports of the floor": [PY, "-c", "import polars"],
    }, dict.fromkeys(("start-up + imports of ours", "start-up + imports of the floor"), 3))
    print("c. this repository's package", flush=True)
    tools = {"cbj-figures validate": ours(REPO), "frictionless validate": frictionless(REPO)}
    results += interleaved("repository", tools, dict.fromkeys(tools, n))
    with tempfile.TemporaryDirectory(prefix="cbj-bench-") as tmp_name:
        tmp = Path(tmp_name)
        figures, broken, gdp = tmp / "figures", tmp / "figures-broken", tmp / "gdp"
        start = time.perf_counter()
        facts["figures"] = generate("figures", figures, rows)
        facts["broken"] = generate("broken", broken, rows)
        facts["gdp"] = generate("gdp", gdp, rows)
        print(f"generated the packages in {time.perf_counter() - start:.1f} s: {facts}", flush=True)
        notes.append(check_broken(broken, facts["broken"]["broken_line"], tmp))
        loads.append(load())
        for name, pkg in (("figures", figures), ("gdp", gdp)):
            print(f"{'a' if name == 'figures' else 'b'}. {name}, {size} rows", flush=True)
            results += interleaved(name, {"cbj-figures validate": ours(pkg), "floor.py": floor(pkg)},
                                   {"cbj-figures validate": n, "floor.py": n})
            fl = Result(name, "frictionless validate")
            if args.quick and name == "figures":
                fl.runs.append(Run(float("nan"), float("nan"), 0, "not run (--quick)"))
            else:
                fl.runs.append(measure(frictionless(pkg)))
                print(f"  {name:<9} frictionless validate    {fl.runs[0].wall:6.2f} s "
                      f"{fl.runs[0].rss_mib:7.0f} MiB", flush=True)
            results.append(fl)
            skipped = fl.runs[0].out == "not run (--quick)"
            said = "was not run" if skipped else f"says {frictionless_verdict(fl.runs[0])}"
            notes.append(f"{name}: `cbj-figures validate` and `floor.py` exit 0 (VALID) on every run; "
                         f"`frictionless validate` {said}.")
            timings[f"ours, {name}"] = in_process("--layers", pkg)
            timings[f"floor, {name}"] = in_process("--floor-layers", pkg)
    notes.append("The floor and ours agree on these packages; the floor is not a general validator (it refuses "
                 "types and dialects these packages do not use).")
    sizes = [] if args.quick or args.large == "none" else list(LARGE)[: list(LARGE).index(args.large) + 1]
    large_results, large_notes, large_facts = large(sizes, min(n, 2))
    notes += large_notes
    notes += [f"{label}: `cbj-figures validate` and both floors exit 0 (VALID) on every run." for label in large_facts]
    loads.append(load())
    print(f"load average {loads[-1]}", flush=True)
    for r in results:
        print(f"{r.package:<9} {r.tool:<32} {r.wall:6.2f} s {r.rss:7.0f} MiB")
    if out:
        write_report(out, size, results, facts, timings, notes, loads, large_results, large_facts)


if __name__ == "__main__":
    main()
