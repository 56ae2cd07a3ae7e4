"""Findings of every validation layer, and the report that collects them (render.py renders it)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
