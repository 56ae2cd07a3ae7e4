"""`cbj-figures`: validate, build, diff, cite, export, dictionary.

Exit codes: 0 valid, 1 invalid, 2 unusable input or usage. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .descriptor import PackageError
from .profiles import read_profile
from .render import RENDERERS, render
from .report import LAYERS, Report

# Up to this much table data the pandera layer runs in a second process: there start-up and
# pandera's per-column overhead dominate. Beyond it the layers are polars-bound, already use both
# cores, and a second process would only hold a second copy of the tables in memory.
BESIDE_MAX_BYTES = 32 * 2**20


def pandera_beside(root: Path) -> Callable[[], list]:
    """Start the pandera layer in a second process; calling the result waits for its findings.

    The layer needs only the files, and its cost is pandera's import and per-column Python work,
    which threads would only take turns on (the GIL). So it runs beside the other layers, on the
    second core, started before this process imports anything heavy.
    """
    from .report import Finding

    args = [sys.executable, "-m", "cbj_figures.exports", "--pandera", str(root)]
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}  # one core each: two thread pools on two cores thrash
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8", env=env)

    def findings() -> list[Finding]:
        out, err = child.communicate()
        if child.returncode != 0:
            last = (err.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
            return [Finding("pandera", "pandera-layer", f"the pandera layer could not run: {last}")]
        return [Finding(**f) for f in json.loads(out)]

    findings.child = child  # type: ignore[attr-defined]
    return findings


def validate(root: Path, *, with_ge: bool, profile: dict | None = None) -> Report:
    """Run the layers: descriptor -> tables -> pandera -> consistency -> provenance -> GE.

    For packages up to BESIDE_MAX_BYTES the pandera layer runs in a second process beside the
    others (`pandera_beside`); findings are reported in layer order all the same.
    """
    from .descriptor import load_package

    report = Report(package=str(root))
    pkg = load_package(root)
    data_bytes = sum(p.stat().st_size for p in (root / t.path for t in pkg.tables.values()) if p.is_file())
    pandera = pandera_beside(root) if data_bytes <= BESIDE_MAX_BYTES else None
    try:
        from . import checks, descriptor, exports, provenance, registry, tables

        generated = registry.stale_schemas(root) + exports.stale_exports(root)
        found = {"descriptor": descriptor.check_descriptor(pkg, profile) + generated}
        loaded, found["tables"] = tables.read_tables(pkg)
        rules, found["consistency"] = checks.load_rules(root, loaded, unreadable=set(pkg.tables) - set(loaded))
        failures, report.reconciliations = checks.run_checks(rules, loaded)
        found["consistency"] += failures
        found["provenance"] = provenance.check_provenance(pkg, loaded)
        found["provenance"] += provenance.check_literals(pkg, loaded, checks.literals(rules))
        found["pandera"] = pandera() if pandera else exports.run_pandera(loaded)
    finally:
        if pandera:  # never leave it running (a no-op once it has finished)
            pandera.child.kill()
            pandera.child.wait()
    if with_ge:
        found["great_expectations"] = exports.run_ge(pkg, loaded)
    else:
        report.skipped["great_expectations"] = "run with --all"
    report.layers_run = [layer for layer in LAYERS if layer in found]
    report.findings = descriptor.locate_json([f for layer in report.layers_run for f in found[layer]], root)
    return report


def cmd_validate(args: argparse.Namespace) -> int:
    root = Path(args.package).resolve()
    profile = read_profile(Path(args.profile)) if args.profile else None
    report = validate(root, with_ge=args.all, profile=profile)
    print(render(report, args.format))
    if args.github and args.format != "github" and report.findings:
        print(render(report, "github"))
    if args.json:
        Path(args.json).write_text(render(report, "json") + "\n", encoding="utf-8")
    if args.junit:
        Path(args.junit).write_text(render(report, "junit"), encoding="utf-8")
    if args.summary:  # appended, as GitHub's $GITHUB_STEP_SUMMARY expects
        with open(args.summary, "a", encoding="utf-8") as fh:
            fh.write(render(report, "markdown"))
    return 0 if report.valid else 1


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    print(build(Path(args.package).resolve(), Path(args.out)))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff

    result = diff(args.old, args.new, repo=Path(args.package).resolve())
    print(result.to_json() if args.json else result.to_text())
    return 0


def cmd_check_version(args: argparse.Namespace) -> int:
    from .diff import check_version_bump

    findings = check_version_bump(Path(args.package).resolve())
    for f in findings:
        print(f"{f.location()}: {f.rule}: {f.message}")
    print("version ok" if not findings else "version bump insufficient")
    return 1 if findings else 0


def cmd_rehash(args: argparse.Namespace) -> int:
    from .build import rehash

    changed = rehash(Path(args.package).resolve())
    print(f"re-pinned: {', '.join(changed)}" if changed else "every resource already matches its hash")
    return 0


def cmd_record_release(args: argparse.Namespace) -> int:
    from .diff import record_release

    print(record_release(Path(args.package).resolve()))
    return 0


def cmd_citation(args: argparse.Namespace) -> int:
    from .cite import write_citation_files

    for path in write_citation_files(Path(args.package).resolve()):
        print(path)
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from .cite import cite

    print(cite(args.target, style=args.style, root=Path(args.package).resolve()))
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from .registry import write_schemas

    for path in write_schemas(Path(args.package).resolve()):
        print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .exports import export

    for path in export(Path(args.package).resolve()):
        print(path)
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from .dictionary import write_dictionary

    print(write_dictionary(Path(args.package).resolve()))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cbj-figures", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, package: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; most take the package folder as their one positional argument."""
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        if package:
            sp.add_argument("package", nargs="?", default=".", help="package folder (default: current folder)")
        return sp

    v = command("validate", cmd_validate, "Validate a data package: every layer, in order.")
    v.add_argument("--all", action="store_true", help="also run the Great Expectations suites")
    v.add_argument("--profile", help="a JSON Schema to use instead of the official Data Package v2 profile")
    v.add_argument("--json", metavar="PATH", help="write the report as JSON")
    v.add_argument("--junit", metavar="PATH", help="write the report as JUnit XML")
    v.add_argument("--github", action="store_true", help="also print GitHub ::error annotations")
    v.add_argument("--format", choices=list(RENDERERS), default="text", help="what to print (default: text)")
    v.add_argument("--summary", metavar="PATH", help="append a Markdown summary (e.g. to $GITHUB_STEP_SUMMARY)")

    b = command("build", cmd_build, "Build dist/<name>-<version>/: CSV, Parquet, DuckDB and a zip.")
    b.add_argument("--out", default="dist")

    d = command(
        "diff", cmd_diff, "Diff two versions (git refs or package folders) and name the bump needed.", package=False
    )
    d.add_argument("old")
    d.add_argument("new", nargs="?", default=".")
    d.add_argument("--package", default=".", help="the git repository holding the refs")
    d.add_argument("--json", action="store_true")

    command("check-version", cmd_check_version, "Fail when `version` is not bumped enough since the last release.")
    command("rehash", cmd_rehash, "After a deliberate edit: pin each resource's sha256 and bytes again.")
    command("record-release", cmd_record_release, "Record the package as the last release (releases/last/).")
    command("citation", cmd_citation, "Regenerate CITATION.cff and .zenodo.json from the descriptor.")

    c = command("cite", cmd_cite, "Cite the package, a table, or one figure (<table>/<id>).", package=False)
    c.add_argument("target", nargs="?")
    c.add_argument("--style", choices=["bibtex", "apa"], default="bibtex")
    c.add_argument("--package", default=".")

    command("schemas", cmd_schemas, "Regenerate schemas/<table>.json from the registry schemas/fields.yaml.")
    command("export", cmd_export, "Regenerate validators/ (pandera, Great Expectations) from schemas/.")
    command("dictionary", cmd_dictionary, "Regenerate docs/data-dictionary.md from schemas/.")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except PackageError as err:
        package = Path(getattr(args, "package", ".")).resolve()
        where = ":".join(str(x) for x in (err.file, err.line) if x is not None)
        print(f"error: {where + ': ' if where else ''}{err.message} (package: {package})", file=sys.stderr)
        return 2
    except (OSError, ValueError, LookupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def run() -> None:
    """Console entry point: leave as soon as the output is out.

    Tearing the interpreter down (finalising pandas, polars, pyarrow, frictionless) takes about 0.3 s
    and serves nothing once every file is written and closed, so exit directly after flushing.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
