"""`cbj-figures`: validate, build, diff, versions, cite, export: arguments in, the library, a renderer out.

Exit codes: 0 valid, 1 invalid, 2 unusable input or usage, 130 interrupted. No traceback reaches the user.
Everything printed goes through a renderer of `render` (its escapers), every file written through
`safeio.write` (confined, no symlink followed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import safeio
from .package import PackageError
from .render import RENDERERS, clean, findings_text, json_text, plain, render
from .safeio import UnsafeInput


def cmd_validate(args: argparse.Namespace) -> int:
    from .profiles import read_profile
    from .validate import Options, validate

    profile = read_profile(Path(args.profile)) if args.profile else None
    options = Options(cross_check=args.all, profile=profile, allow_network=args.allow_network,
                      require_profile=args.require_profile)
    report = validate(args.package, options)
    printed = render(report, args.format)
    if args.github and args.format != "github" and report.findings:
        printed += "\n" + render(report, "github")
    written = _write_reports(args, report)  # before printing: a report file is never lost to the terminal
    print(printed)
    return 2 if not written else 0 if report.valid else 1


def _write_reports(args: argparse.Namespace, report: object) -> bool:
    """--json, --junit and --summary, each confined (see safeio.confine); False when one was refused."""
    ok = True
    for path, fmt, write in ((args.json, "json", safeio.write), (args.junit, "junit", safeio.write),
                             (args.summary, "markdown", safeio.append)):
        if not path:
            continue
        try:
            text = render(report, fmt)  # type: ignore[arg-type]
            write(safeio.confine(path, package=args.package), text + "\n" if fmt == "json" else text)
        except (UnsafeInput, OSError) as err:
            print(clean(f"error: {getattr(err, 'message', err)}"), file=sys.stderr)
            ok = False
    return ok


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build

    print(plain(build(Path(args.package), args.out)))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff

    result = diff(args.old, args.new, repo=Path(args.package))
    print(json_text(result.to_dict()) if args.json else plain(result.to_text()))
    return 0


def cmd_check_version(args: argparse.Namespace) -> int:
    from .diff import check_version_bump

    findings = check_version_bump(Path(args.package))
    print(findings_text(findings, "version ok" if not findings else "version bump insufficient"))
    return 1 if findings else 0


def cmd_site(args: argparse.Namespace) -> int:
    from .site import build_site

    print(plain(build_site(Path(args.package), Path(args.out))))
    return 0


def cmd_rehash(args: argparse.Namespace) -> int:
    from .build import rehash

    changed = rehash(Path(args.package))
    print(plain(f"re-pinned: {', '.join(changed)}" if changed else "every resource already matches its hash"))
    return 0


def cmd_record_release(args: argparse.Namespace) -> int:
    from .record import record
    from .releases import FOLDER, INDEX

    r = record(Path(args.package), args.source, replace=args.replace)
    print(plain(f"recorded {r.version}: {FOLDER}/{r.version}/{r.file} ({r.bytes:,} bytes, sha256:{r.sha256})"))
    print(plain(f"{INDEX}: {r.url}"))
    if args.source is None:
        print(plain(f"baseline: {FOLDER}/last"))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from .record import check
    from .releases import INDEX, read_index, render

    root = _here_or_installed(args.package, INDEX)
    if args.check:
        problems = check(root)
        print(plain("\n".join([*problems, "release index ok" if not problems else "release index out of step"])))
        return 1 if problems else 0
    releases = read_index(root)
    if args.json:
        print(json_text([asdict(r) for r in releases]))
    else:  # the index's text comes from the repository's CHANGELOG: no control characters reach the terminal
        print(plain(render(releases)))
    return 0


def cmd_citation(args: argparse.Namespace) -> int:
    from .cite import write_citation_files

    for path in write_citation_files(Path(args.package)):
        print(plain(path))
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from .cite import cite

    root = _here_or_installed(args.package, "datapackage.json")
    print(plain(cite(args.target, style=args.style, root=root, version=args.version, mirror=args.mirror)))
    return 0


def _here_or_installed(package: str | None, marker: str) -> Path:
    """The folder named, else the current one when it holds `marker`, else the installed package (downstream)."""
    from .loader import data_root

    if package:
        return Path(package)
    return Path(".") if (Path(".") / marker).is_file() else data_root()


def cmd_schemas(args: argparse.Namespace) -> int:
    from .registry import write_schemas

    for path in write_schemas(Path(args.package)):
        print(plain(path))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .exports import export

    for path in export(Path(args.package)):
        print(plain(path))
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from .dictionary import write_dictionary

    print(plain(write_dictionary(Path(args.package))))
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    from .findings import errors_markdown

    print(plain(safeio.write(safeio.under(args.package, "docs/errors.md"), errors_markdown())))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cbj-figures", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, package: bool = True
    ) -> argparse.ArgumentParser:
        """A subcommand; most take the package (folder or descriptor) as their one positional argument."""
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        if package:
            sp.add_argument("package", nargs="?", default=".", help="package folder or descriptor (default: .)")
        return sp

    v = command("validate", cmd_validate, "Validate a data package: every layer that applies, in order.")
    v.add_argument("--all", action="store_true", help="also the cross-check layers (pandera, Great Expectations)")
    v.add_argument("--profile", help="a JSON Schema to check the descriptor against instead of its profile")
    v.add_argument("--require-profile", metavar="URL", help="fail unless the package's $schema names this profile "
                   "(default: [tool.cbj-figures] profile of the pyproject.toml beside the descriptor)")
    v.add_argument("--allow-network", action="store_true", help="fetch remote data (never done otherwise)")
    v.add_argument("--format", choices=list(RENDERERS), default="text", help="what to print (default: text)")
    v.add_argument("--json", metavar="PATH", help="write the report as JSON (every finding)")
    v.add_argument("--junit", metavar="PATH", help="write the report as JUnit XML")
    v.add_argument("--github", action="store_true", help="also print GitHub ::error annotations")
    v.add_argument("--summary", metavar="PATH", help="append a Markdown summary (e.g. to $GITHUB_STEP_SUMMARY)")

    b = command("build", cmd_build, "Build dist/<name>-<version>/: CSV, Parquet, DuckDB and a zip.")
    b.add_argument("--out", default="dist")

    s = command("site", cmd_site, "Generate the static site: annotated articles, charts, tables, fact-check, releases.")
    s.add_argument("--out", default="dist/site", help="the folder to write (empty, or an earlier site)")

    d = command(
        "diff", cmd_diff, "Diff two versions (release numbers, git refs, package folders or zips) and name the bump "
        "needed.", package=False
    )
    d.add_argument("old")
    d.add_argument("new", nargs="?", default=".")
    d.add_argument("--package", default=".", help="the git repository holding the refs and the release index")
    d.add_argument("--json", action="store_true")

    command("check-version", cmd_check_version, "Fail when `version` is not bumped enough since the last release.")
    command("rehash", cmd_rehash, "After a deliberate edit: pin each resource's sha256 and bytes again.")
    r = command("record-release", cmd_record_release, "Build the release, keep its zip in releases/<version>/, add it "
                "to releases/index.json and record the package as the baseline releases/last/.")
    r.add_argument("--from", dest="source", metavar="REF", help="record an earlier version instead: a git ref, "
                   "folder or zip of it (releases/last/ is left alone)")
    r.add_argument("--replace", action="store_true", help="record again a version whose bytes changed (only if it "
                   "was never published)")
    v = command("versions", cmd_versions, "List the recorded releases: version, date, size, sha256, changes.",
                package=False)
    v.add_argument("package", nargs="?", help="the repository (default: ., else the installed package)")
    v.add_argument("--json", action="store_true", help="the index entries as JSON")
    v.add_argument("--check", action="store_true", help="fail unless every kept zip and the current version's "
                   "entry match (a fresh build, byte for byte)")
    command("citation", cmd_citation, "Regenerate CITATION.cff and .zenodo.json from the descriptor.")

    c = command("cite", cmd_cite, "Cite the package, a table, or one figure (<table>/<id>).", package=False)
    c.add_argument("target", nargs="?")
    c.add_argument("--style", choices=["bibtex", "apa"], default="bibtex")
    c.add_argument("--version", help="cite this recorded release (e.g. 0.1.0, latest), as load(version=...) gives it")
    c.add_argument("--mirror", help="a folder or base URL holding the releases (default: $CBJ_FIGURES_MIRROR)")
    c.add_argument("--package", help="the package (default: ., else the installed package)")

    command("schemas", cmd_schemas, "Regenerate schemas/<table>.json from the registry schemas/fields.yaml.")
    command("export", cmd_export, "Regenerate validators/ (pandera, Great Expectations) from schemas/.")
    command("dictionary", cmd_dictionary, "Regenerate docs/data-dictionary.md from schemas/.")
    command("errors", cmd_errors, "Regenerate docs/errors.md from the registry of finding codes.")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except PackageError as err:
        where = ":".join(str(x) for x in (err.file, err.line) if x is not None)
        print(clean(f"error: {where + ': ' if where else ''}{err.message}"), file=sys.stderr)
        return 2
    except UnsafeInput as err:
        print(clean(f"error: {err.file + ': ' if err.file else ''}{err.message}"), file=sys.stderr)
        return 2
    except (OSError, ValueError, LookupError) as err:
        print(clean(f"error: {err}"), file=sys.stderr)
        return 2
    except Exception as err:  # a bug of ours: say so in one line, never a traceback
        print(clean(f"error: internal error ({type(err).__name__}: {err}); please report it"), file=sys.stderr)
        return 2


def run() -> None:
    """Console entry point: leave as soon as the output is out.

    Tearing the interpreter down (finalising pandas, polars, pyarrow, frictionless) takes about 0.3 s
    and serves nothing once every file is written and closed, so exit directly after flushing.
    """
    try:
        code = main()
    except KeyboardInterrupt:  # between the handlers above and here
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
