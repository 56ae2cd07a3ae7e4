"""Findings of every validation layer, and the renderers CI and people read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from xml.sax.saxutils import escape, quoteattr

LAYERS = ("descriptor", "tables", "pandera", "consistency", "provenance", "great_expectations")


@dataclass(frozen=True)
class Finding:
    """One failure, located as precisely as the layer allows (file relative to the package root)."""

    layer: str
    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    computed: str | None = None  # interval computed from other figures, e.g. "[520.1365, 521.1375]"
    printed: str | None = None  # interval of the printed figure, e.g. "[519.5, 520.5]"

    def location(self) -> str:
        parts = [self.file or "<package>"]
        if self.line is not None:
            parts.append(str(self.line))
        where = ":".join(parts)
        return f"{where} [{self.field}]" if self.field else where


@dataclass(frozen=True)
class Reconciliation:
    """Evidence of a consistency rule: what was computed, what was printed, whether they meet."""

    rule: str
    kind: str
    description: str
    computed: str
    printed: str
    holds: bool
    waived: str | None = None  # the written reason, when waived


@dataclass
class Report:
    package: str
    findings: list[Finding] = field(default_factory=list)
    reconciliations: list[Reconciliation] = field(default_factory=list)
    layers_run: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # layer -> why

    @property
    def valid(self) -> bool:
        return not self.findings

    def to_json(self) -> str:
        return json.dumps(
            {
                "package": self.package,
                "valid": self.valid,
                "layers_run": self.layers_run,
                "skipped": self.skipped,
                "findings": [asdict(f) for f in self.findings],
                "reconciliations": [asdict(r) for r in self.reconciliations],
            },
            ensure_ascii=False,
            indent=2,
        )

    def to_text(self) -> str:
        lines = []
        for layer in self.layers_run:
            errors = [f for f in self.findings if f.layer == layer]
            lines.append(f"{layer:<20} {'ok' if not errors else f'{len(errors)} error(s)'}")
            for f in errors:
                lines.append(f"  {f.location()}: {f.rule}: {f.message}")
                if f.computed or f.printed:
                    lines.append(f"      computed {f.computed}  printed {f.printed}")
        for layer, why in self.skipped.items():
            lines.append(f"{layer:<20} skipped ({why})")
        if self.reconciliations:
            lines.append("")
            lines.append("reconciliation")
            width = max(len(r.rule) for r in self.reconciliations)
            for r in self.reconciliations:
                mark = "waived" if r.waived else ("ok" if r.holds else "FAIL")
                lines.append(f"  {r.rule:<{width}}  {mark:<6} computed {r.computed}  printed {r.printed}")
        lines.append("")
        lines.append("valid" if self.valid else f"invalid: {len(self.findings)} error(s)")
        return "\n".join(lines)

    def to_github(self) -> str:
        """GitHub workflow commands, one `::error` line a finding."""
        out = []
        for f in self.findings:
            props = [f"file={f.file or 'datapackage.json'}"]
            if f.line is not None:
                props.append(f"line={f.line}")
            props.append(f"title={f.layer}: {f.rule}".replace(",", ";").replace("::", ":"))
            message = f.message + (f" (computed {f.computed}, printed {f.printed})" if f.computed else "")
            message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            out.append(f"::error {','.join(props)}::{message}")
        return "\n".join(out)

    def to_junit(self) -> str:
        """One test suite a layer, one test case a rule (failures listed inside it)."""
        suites = []
        for layer in self.layers_run:
            errors = [f for f in self.findings if f.layer == layer]
            cases = []
            names = [r.rule for r in self.reconciliations] if layer == "consistency" else []
            names += sorted({f.rule for f in errors} - set(names)) or ([] if names else [layer])
            for name in names:
                failing = [f for f in errors if f.rule == name]
                body = "".join(
                    f"<failure message={quoteattr(f.message)}>{escape(f.location())}</failure>" for f in failing
                )
                cases.append(f"<testcase classname={quoteattr(layer)} name={quoteattr(name)}>{body}</testcase>")
            head = f'<testsuite name={quoteattr(layer)} tests="{len(cases)}" failures="{len(errors)}">'
            suites.append(head + "".join(cases) + "</testsuite>")
        return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>' + "".join(suites) + "</testsuites>\n"
