"""Renderers of a validation report: text for people, JSON for programs, JUnit and GitHub
annotations for CI, Markdown for a job summary. One function a format, one registry.

Every string that comes from a package (messages, rule ids, quotes, file names) is input: each
renderer escapes it for its medium, so a package cannot forge CI commands or break the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from xml.sax.saxutils import escape, quoteattr

from cbj_figures.report import Finding, Report

SUMMARY_ROWS = 200  # findings listed in a Markdown summary; the JSON report lists every one


def _status(report: Report, layer: str) -> str:
    errors = sum(1 for f in report.findings if f.layer == layer)
    return "ok" if not errors else f"{errors} error(s)"


def text(report: Report) -> str:
    lines = []
    for layer in report.layers_run:
        lines.append(f"{layer:<20} {_status(report, layer)}")
        for f in report.findings:
            if f.layer != layer:
                continue
            lines.append(f"  {f.location()}: {f.rule}: {f.message}")
            if f.computed or f.printed:
                lines.append(f"      computed {f.computed}  printed {f.printed}")
    for layer, why in report.skipped.items():
        lines.append(f"{layer:<20} skipped ({why})")
    if report.reconciliations:
        lines += ["", "reconciliation"]
        width = max(len(r.rule) for r in report.reconciliations)
        for r in report.reconciliations:
            mark = "waived" if r.waived else ("ok" if r.holds else "FAIL")
            lines.append(f"  {r.rule:<{width}}  {mark:<6} computed {r.computed}  printed {r.printed}")
    lines += ["", "valid" if report.valid else f"invalid: {len(report.findings)} error(s)"]
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
    return json.dumps(payload, ensure_ascii=False, indent=2)


def github(report: Report) -> str:
    """GitHub workflow commands, one `::error` line a finding."""
    out = []
    for f in report.findings:
        props = [f"file={f.file or 'datapackage.json'}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        props.append(f"title={f.layer}: {f.rule}".replace(",", ";").replace("::", ":"))
        message = f.message + (f" (computed {f.computed}, printed {f.printed})" if f.computed else "")
        message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        out.append(f"::error {','.join(props)}::{message}")
    return "\n".join(out)


def junit(report: Report) -> str:
    """One test suite a layer, one test case a rule (failures listed inside it)."""
    suites = []
    for layer in report.layers_run:
        errors = [f for f in report.findings if f.layer == layer]
        cases = []
        names = [r.rule for r in report.reconciliations] if layer == "consistency" else []
        names += sorted({f.rule for f in errors} - set(names)) or ([] if names else [layer])
        for name in names:
            failing = [f for f in errors if f.rule == name]
            body = "".join(f"<failure message={quoteattr(f.message)}>{escape(f.location())}</failure>" for f in failing)
            cases.append(f"<testcase classname={quoteattr(layer)} name={quoteattr(name)}>{body}</testcase>")
        head = f'<testsuite name={quoteattr(layer)} tests="{len(cases)}" failures="{len(errors)}">'
        suites.append(head + "".join(cases) + "</testsuite>")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>' + "".join(suites) + "</testsuites>\n"


def _cell(value: object) -> str:
    """One Markdown table cell: a single line, HTML and table syntax escaped."""
    text = "" if value is None else " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("`", "\\`")


def _finding_row(f: Finding) -> str:
    cells = [f.file or "", f.line, f.field, f"{f.layer}: {f.rule}", f.message]
    if f.computed or f.printed:
        cells[-1] = f"{f.message} (computed {f.computed}, printed {f.printed})"
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def markdown(report: Report) -> str:
    """A job summary: the verdict, each layer's status, the findings, and the reconciliation folded away."""
    n = len(report.findings)
    verdict = "valid" if report.valid else f"invalid: {n} error(s)"
    lines = [f"## Data package validation: {verdict}", "", f"Package `{_cell(report.package)}`", ""]
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
