"""`validate`: the layers, in order, each a function of the same context.

    descriptor -> tables -> conventions -> consistency -> provenance -> pandera -> great_expectations

The first two are the Data Package standard and run on every package; the conventions layers
run on a package that opts into them (its `$schema` names our profile); the last two re-check
the tables with the libraries of the field and run with `--all`. A new layer is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from cbj_figures.findings import Finding, Reconciliation, Report
from cbj_figures.package import Package, PackageError, open_package
from cbj_figures.safeio import MAX_FINDINGS, UnsafeInput


@dataclass(frozen=True)
class Options:
    cross_check: bool = False  # --all: also the pandera and Great Expectations layers
    profile: dict | None = None  # --profile: a JSON Schema instead of the descriptor's profile
    require_profile: str | None = None  # --require-profile (else [tool.cbj-figures] profile of its pyproject.toml)
    allow_network: bool = False  # --allow-network: fetch remote data
    keep_rows: bool = False  # keep every table's rows in the context (the site shows them); else only when a layer
    # reads them (conventions, --all): the tables layer streams


@dataclass
class Context:
    """What the layers share: the package, the tables the tables layer could read, the options."""

    pkg: Package
    options: Options
    tables: dict = field(default_factory=dict)  # name -> tables.Table
    unread: set[str] = field(default_factory=set)  # tables the tables layer could not read
    reconciliations: list[Reconciliation] = field(default_factory=list)
    rules: list = field(default_factory=list)  # the consistency rules, once loaded
    found: list[Finding] = field(default_factory=list)  # what the layers before reported
    ge_results: dict = field(default_factory=dict)  # table -> GE validation result (the site renders them)

    def seen(self) -> set[tuple]:
        """(file, row, field) of every finding so far, and (file, None, field): what a cross-check need not repeat."""
        out: set[tuple] = set()
        for f in self.found:
            out |= {(f.file, f.row, f.field), (f.file, None, f.field)}
        return out


def _descriptor(ctx: Context) -> list[Finding]:
    from cbj_figures.descriptor import check_descriptor
    from cbj_figures.profiles import requirement

    return check_descriptor(ctx.pkg, ctx.options.profile) + requirement(ctx.pkg, ctx.options.require_profile)


def _tables(ctx: Context) -> list[Finding]:
    from cbj_figures.tables import read_tables

    keep = ctx.pkg.conventions or ctx.options.cross_check or ctx.options.keep_rows  # what later layers read
    ctx.tables, found = read_tables(ctx.pkg, allow_network=ctx.options.allow_network, keep=keep)
    ctx.unread = set(ctx.pkg.tables) - set(ctx.tables)
    return found


def _conventions(ctx: Context) -> list[Finding]:
    from cbj_figures.conventions import check_conventions

    return check_conventions(ctx.pkg, ctx.tables)


def _consistency(ctx: Context) -> list[Finding]:
    from cbj_figures import checks
    from cbj_figures.evidence import Claims
    from cbj_figures.printed import declared_units

    units, claims = declared_units(ctx.pkg.declared("units")), Claims.of(ctx.pkg.declared("claims"))
    ctx.rules, found = checks.load_rules(ctx.pkg.root, ctx.tables, unreadable=ctx.unread, units=units, claims=claims)
    failures, ctx.reconciliations = checks.run_checks(ctx.rules, ctx.tables, units, claims)
    return found + failures


def _provenance(ctx: Context) -> list[Finding]:
    from cbj_figures import checks, provenance

    found = provenance.check_provenance(ctx.pkg, ctx.tables)
    return found + provenance.check_literals(ctx.pkg, ctx.tables, checks.literals(ctx.rules))


def _pandera(ctx: Context) -> list[Finding]:
    from cbj_figures.crosscheck import run_pandera

    return run_pandera(ctx.pkg, ctx.tables, ctx.unread, ctx.seen())


def _great_expectations(ctx: Context) -> list[Finding]:
    from cbj_figures.crosscheck import run_ge

    return run_ge(ctx.pkg, ctx.tables, ctx.unread, ctx.seen(), results=ctx.ge_results)


@dataclass(frozen=True)
class Layer:
    name: str
    run: Callable[[Context], list[Finding]]
    conventions: bool = False  # only for a package that opts into the conventions
    cross_check: bool = False  # only with --all


LAYERS: tuple[Layer, ...] = (
    Layer("descriptor", _descriptor),
    Layer("tables", _tables),
    Layer("conventions", _conventions, conventions=True),
    Layer("consistency", _consistency, conventions=True),
    Layer("provenance", _provenance, conventions=True),
    Layer("pandera", _pandera, cross_check=True),
    Layer("great_expectations", _great_expectations, cross_check=True),
)


def _capped(report: Report, found: list[Finding], layer: str) -> list[Finding]:
    """A run reports at most MAX_FINDINGS findings; one `too-large` finding says how many more a layer had."""
    room = MAX_FINDINGS - len(report.findings)
    if len(found) <= room:
        return found
    kept = found[: max(room, 0)]
    message = (f"{len(found) - len(kept):,} more findings of this layer are not listed: a report lists at most "
               f"{MAX_FINDINGS:,} (fix these first)")
    return [*kept, Finding("too-large", message, layer=layer)]


def validate(path: str | Path, options: Options | None = None) -> Report:
    """Every layer that applies, in order; raises PackageError when the input is unusable (exit 2)."""
    return validate_run(path, options)[0]


def validate_run(path: str | Path, options: Options | None = None) -> tuple[Report, Context]:
    """`validate`, with the context its layers shared: the typed tables, the rules and the Great Expectations
    results of this very run, so a renderer of the evidence (the site) shows what was checked, not a re-run."""
    options = options or Options()
    pkg = open_package(path)
    ctx = Context(pkg, options)
    report = Report(package=str(Path(path)))
    for layer in LAYERS:
        if layer.conventions and not pkg.conventions:
            report.skipped[layer.name] = "the package does not opt into the conventions"
            continue
        if layer.cross_check and not options.cross_check:
            report.skipped[layer.name] = "run with --all"
            continue
        try:
            found = layer.run(ctx)
        except (PackageError, UnsafeInput):
            raise  # unusable input: one line, exit 2
        except Exception as err:  # a bug of ours loses no report and calls nothing valid: the other layers run
            message = f"the {layer.name} layer failed ({type(err).__name__}: {err}); please report it"
            found = [Finding("internal-error", message[:2000], layer=layer.name)]
        found = [f if f.layer == layer.name else replace(f, layer=layer.name) for f in found]
        found = _capped(report, found, layer.name)
        ctx.found += found
        report.findings += found
        report.layers_run.append(layer.name)
    report.reconciliations = ctx.reconciliations
    return report, ctx

