"""Renderers of a validation report: text for people, JSON for programs, JUnit and GitHub
annotations for CI, Markdown for a job summary. One function a format, one registry.

Every string that comes from a package (messages, rule ids, quotes, file names) is input: each
renderer escapes it for its medium with the one escaper of that medium (`escape.py`), so a package
cannot forge CI commands, hide text, plant links or break the format. The other commands' output
(diff, check-version, versions, cite, the paths written) goes through `plain`, `findings_text` and `json_text` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from cbj_figures import escape
from cbj_figures.findings import Finding, Report

SUMMARY_ROWS = 200  # findings listed in a Markdown summary; the JSON report lists every one
TEXT_ROWS = 50  # findings the text report lists of one (layer, code, field); the JSON report lists every one
clean = escape.terminal  # one line of package text for a terminal or CI log


def plain(text: Any) -> str:
    """What a command prints for people (paths written, a citation, a listing): every line through `clean`."""
    return escape.lines(text)


def findings_text(findings: Iterable[Finding], verdict: str) -> str:
    """Findings of a command that is not `validate` (check-version): one located line each, then the verdict."""
    return "\n".join([*(clean(f"{f.location()}: {f.code}: {f.message}") for f in findings), verdict])


def json_text(value: Any) -> str:
    """JSON for programs (`--json` of any command): every unseen character a `\\u` escape (escape.to_json)."""
    return escape.to_json(value, indent=2, default=str)


def _status(report: Report, layer: str) -> str:
    errors = sum(1 for f in report.findings if f.layer == layer and f.severity == "error")
    notes = sum(1 for f in report.findings if f.layer == layer and f.severity == "note")
    status = "ok" if not errors else f"{errors} error(s)"
    return status + (f", {notes} note(s)" if notes else "")


def _verdict(report: Report) -> str:
    errors = len(report.errors)
    return "valid" if report.valid else f"invalid: {errors} error(s)"


def text(report: Report) -> str:
    """For people: each layer's status and its findings (at most TEXT_ROWS of one kind), the reconciliation."""
    lines = []
    for layer in report.layers_run:
        lines.append(f"{layer:<20} {_status(report, layer)}")
        shown: dict[tuple, int] = {}
        for f in report.findings:
            if f.layer != layer:
                continue
            key = (f.code, f.field)
            shown[key] = shown.get(key, 0) + 1
            if shown[key] > TEXT_ROWS:
                continue
            note = " (note)" if f.severity == "note" else ""
            lines.append(clean(f"  {f.location()}: {f.code}{note}: {f.message}"))
            if f.computed or f.printed:
                lines.append(clean(f"      computed {f.computed}  printed {f.printed}"))
        for (code, field), n in shown.items():
            if n > TEXT_ROWS:
                lines.append(clean(f"  ... and {n - TEXT_ROWS:,} more {code}" + (f" [{field}]" if field else "")
                                   + " (the JSON report lists every finding)"))
    for layer, why in report.skipped.items():
        lines.append(clean(f"{layer:<20} skipped ({why})"))
    if report.reconciliations:
        lines += ["", "reconciliation"]
        width = max(len(r.rule) for r in report.reconciliations)
        for r in report.reconciliations:
            mark = "waived" if r.waived else ("ok" if r.holds else "FAIL")
            lines.append(clean(f"  {r.rule:<{width}}  {mark:<6} computed {r.computed}  printed {r.printed}"))
    lines += ["", _verdict(report)]
    return "\n".join(lines)


def to_json(report: Report) -> str:
    payload = {
        "package": report.package,
        "valid": report.valid,
        "layers_run": report.layers_run,
        "skipped": report.skipped,
        "findings": [asdict(f) for f in report.findings],
        "reconciliations": [asdict(r) for r in report.reconciliations],
    }
    return escape.to_json(payload, indent=2)



def github(report: Report) -> str:
    """GitHub workflow commands: one `::error` (or `::notice`) line a finding, every value escaped."""
    out = []
    for f in report.findings:
        props = [f"file={escape.command_property(f.file or 'datapackage.json')}"]
        if f.line is not None or f.row is not None:
            props.append(f"line={f.line if f.line is not None else f.row}")
        props.append(f"title={escape.command_property(f'{f.layer}: {f.code}' + (f' ({f.rule})' if f.rule else ''))}")
        message = f.message + (f" (computed {f.computed}, printed {f.printed})" if f.computed else "")
        kind = "error" if f.severity == "error" else "notice"
        out.append(f"::{kind} {','.join(props)}::{escape.command_data(message)}")
    return "\n".join(out)


def _case(f: Finding) -> str:
    """A JUnit test case: a consistency rule by its id, anything else by its code."""
    return f.rule if f.layer == "consistency" and f.rule else f.code


def junit(report: Report) -> str:
    """One test suite a layer, one test case a rule (failures listed inside it)."""
    suites = []
    for layer in report.layers_run:
        errors = [f for f in report.findings if f.layer == layer and f.severity == "error"]
        cases = []
        names = [r.rule for r in report.reconciliations] if layer == "consistency" else []
        names += sorted({_case(f) for f in errors} - set(names)) or ([] if names else [layer])
        for name in names:
            failing = [f for f in errors if _case(f) == name]
            body = "".join(
                f"<failure message={escape.xml_attr(f.message)} type={escape.xml_attr(f.code)}>"
                f"{escape.xml_text(f.location())}</failure>" for f in failing
            )
            cases.append(f"<testcase classname={escape.xml_attr(layer)} name={escape.xml_attr(name)}>{body}</testcase>")
        head = f'<testsuite name={escape.xml_attr(layer)} tests="{len(cases)}" failures="{len(errors)}">'
        suites.append(head + "".join(cases) + "</testsuite>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>' + "".join(suites) + "</testsuites>\n"


def _cell(value: object) -> str:
    """One Markdown table cell: a single line, every Markdown, HTML and table syntax escaped (escape.markdown)."""
    return escape.markdown(value if value is not None else "")


def _finding_row(f: Finding) -> str:
    cells = [f.file or "", f.line if f.line is not None else f.row, f.field, f"{f.layer}: {f.code}", f.message]
    if f.computed or f.printed:
        cells[-1] = f"{f.message} (computed {f.computed}, printed {f.printed})"
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown(report: Report) -> str:
    """A job summary: the verdict, each layer's status, the findings, and the reconciliation folded away."""
    n = len(report.findings)
    lines = [f"## Data package validation: {_verdict(report)}", "", f"Package: {_cell(report.package)}", ""]
    lines += ["| layer | status |", "|---|---|"]
    lines += [f"| {layer} | {_status(report, layer)} |" for layer in report.layers_run]
    lines += [f"| {layer} | skipped ({_cell(why)}) |" for layer, why in report.skipped.items()]
    if report.findings:
        lines += ["", "### Findings", "", "| file | line | field | check | message |", "|---|---|---|---|---|"]
        lines += [_finding_row(f) for f in report.findings[:SUMMARY_ROWS]]
        if n > SUMMARY_ROWS:
            lines += ["", f"... and {n - SUMMARY_ROWS} more: the JSON report (`--json`) lists every finding."]
    if report.reconciliations:
        held = sum(1 for r in report.reconciliations if r.holds or r.waived)
        lines += ["", f"<details><summary>Reconciliation: {held} of {len(report.reconciliations)} rules hold</summary>"]
        lines += ["", "| rule | status | computed | printed |", "|---|---|---|---|"]
        for r in report.reconciliations:
            mark = "waived" if r.waived else ("ok" if r.holds else "FAIL")
            lines.append(f"| {_cell(r.rule)} | {mark} | {_cell(r.computed)} | {_cell(r.printed)} |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text,
    "json": to_json,
    "junit": junit,
    "github": github,
    "markdown": markdown,
}


def render(report: Report, fmt: str = "text") -> str:
    return RENDERERS[fmt](report)
