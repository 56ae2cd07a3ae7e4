"""Findings: one registry of codes, the finding record, and the report that collects them.

Why a registry: a maintainer who adopts the validator reads, filters and documents findings by
code, so every code is declared once here (title and description; `docs/errors.md` is generated
from it), and codes that mean what a frictionless error type means carry its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "note"]


@dataclass(frozen=True)
class Code:
    name: str
    title: str
    description: str
    frictionless: bool = False  # the same name and meaning as a frictionless-py error type
    severity: Severity = "error"  # a "note" is reported but leaves the package valid


def _codes(*codes: Code) -> dict[str, Code]:
    return {c.name: c for c in codes}


F = True  # aligned with frictionless
CODES: dict[str, Code] = _codes(
    # -- the descriptor and its metadata
    Code("package-error", "Package error", "The package descriptor breaks a rule of the Data Package standard.", F),
    Code("resource-error", "Resource error", "A resource descriptor breaks a rule of the Data Package standard.", F),
    Code("schema-error", "Schema error", "A Table Schema breaks a rule of the standard, or a key names a field or "
         "resource that does not exist.", F),
    Code("field-error", "Field error", "A field descriptor breaks a rule of the Table Schema standard.", F),
    Code("dialect-error", "Dialect error", "A table dialect breaks a rule of the standard.", F),
    Code("metadata-error", "Metadata error", "A descriptor cannot be read as metadata of the standard.", F),
    Code("profile-error", "Profile error", "The descriptor does not validate against the JSON Schema of its profile "
         "(the official Data Package profile of its version, or the extension profile it declares)."),
    Code("profile-required", "Profile required", "The package's own CI requires a profile (`validate "
         "--require-profile URL`, or `[tool.cbj-figures] profile` in the pyproject.toml beside its descriptor) that "
         "its `$schema` does not name, or that this toolkit does not hold: the checks of that profile did not run."),
    Code("hash-count", "Hash count error", "The file's hash is not the one the descriptor declares.", F),
    Code("byte-count", "Byte count error", "The file's size is not the `bytes` the descriptor declares.", F),
    Code("unsafe-path", "Unsafe path", "A path is absolute, leaves the package (also through a symlink), or names a "
         "special file (FIFO, device); it is not read."),
    Code("too-large", "Too large", "A file, archive or value exceeds the size the toolkit reads; it is not read."),
    Code("too-complex", "Too complex", "The input asks for unbounded work (YAML aliases, deep nesting, a huge "
         "exponent); it is refused."),
    Code("unsupported", "Unsupported feature", "The toolkit does not support this feature, so what depends on it "
         "is not checked (said so, never guessed).", severity="note"),
    Code("not-checked", "Not checked", "Something could not be checked: a layer could not see a table "
         "(unreadable, or remote and not fetched), or a profile is remote.", severity="note"),
    Code("internal-error", "Internal error", "A layer of the toolkit failed on this input: a bug of ours (please "
         "report it). The other layers and the reports still ran; the package is not called valid."),
    Code("duplicate-field-name", "Duplicate field name", "Two fields of a v2 Table Schema have the same name. v2 says "
         "names MUST be unique and that a consumer MUST NOT take the descriptor as invalid for it (v1 allowed it): "
         "the table is checked, the repeated field named `name (2)`.", severity="note"),
    Code("schema-inferred", "Schema inferred", "The table has no schema; one was inferred from its data as "
         "frictionless does, and the table checked against it.", severity="note"),
    # -- reading a table
    Code("scheme-error", "Scheme error", "The data cannot be reached: its file does not exist.", F),
    Code("source-error", "Source error", "The data file is missing, empty or cannot be read.", F),
    Code("format-error", "Format error", "The data cannot be parsed in its declared format (malformed CSV quoting, "
         "invalid JSON).", F),
    Code("encoding-error", "Encoding error", "The data cannot be decoded with its declared encoding.", F),
    Code("compression-error", "Compression error", "The compressed data cannot be decompressed.", F),
    # -- the header
    Code("blank-header", "Blank header", "The header row is empty.", F),
    Code("unmatched-header", "Unmatched header", "With fieldsMatch partial, no label of the header is a field of "
         "the schema.", F),
    Code("blank-label", "Blank label", "A label in the header row is empty.", F),
    Code("duplicate-label", "Duplicate label", "Two labels in the header row are the same.", F),
    Code("incorrect-label", "Incorrect label", "A label in the header row is not the field name the schema has "
         "there.", F),
    Code("extra-label", "Extra label", "The header has a label the schema does not expect.", F),
    Code("missing-label", "Missing label", "The header lacks a field of the schema.", F),
    # -- rows and cells
    Code("blank-row", "Blank row", "Every cell of the row is empty (or a missing value).", F),
    Code("extra-cell", "Extra cell", "The row has more cells than the header.", F),
    Code("missing-cell", "Missing cell", "The row has fewer cells than the header.", F),
    Code("type-error", "Type error", "The cell cannot be read as its field's type and format.", F),
    Code("constraint-error", "Constraint error", "The cell breaks a constraint of its field (required, enum, "
         "minimum, maximum, pattern, length, ...).", F),
    Code("unique-error", "Unique error", "The value repeats a value of an earlier row where the field (or a "
         "`uniqueKeys` group) must be unique.", F),
    Code("primary-key", "Primary key error", "The primary key is missing or repeats an earlier row's.", F),
    Code("foreign-key", "Foreign key error", "The value is not found in the table the foreign key references.", F),
    # -- conventions: the field registry and generated files
    Code("registry-error", "Field registry error", "The field registry (schemas/fields.yaml) cannot be read."),
    Code("stale-schema", "Stale schema", "A Table Schema is not what the field registry generates."),
    Code("stale-export", "Stale export", "A generated pandera or Great Expectations validator is out of step "
         "with its Table Schema."),
    Code("convention-error", "Convention error", "The package breaks a convention it opted into (docs/DESIGN.md)."),
    # -- conventions: consistency rules
    Code("rule-failed", "Rule failed", "A consistency rule does not hold: the interval computed from the "
         "figures does not meet the printed one."),
    Code("rule-error", "Rule error", "A rule file or rule cannot be read or evaluated."),
    Code("waiver-error", "Waiver error", "A waiver names no rule, waives a rule twice, or waives a rule that "
         "now holds."),
    # -- conventions: evidence
    Code("source-text", "Source text", "A row's source resolves to no readable article text."),
    Code("quote-missing", "Quote missing", "The row has no verbatim quote."),
    Code("quote-not-in-source", "Quote not in source", "The quote does not occur in its article."),
    Code("printed-missing", "Printed text missing", "A stored figure has no printed text."),
    Code("printed-not-in-quote", "Printed not in quote", "The printed figure does not occur in its quote."),
    Code("printed-unparseable", "Printed unparseable", "The printed figure cannot be read, or its qualifier "
         "words disagree with its qualifier."),
    Code("qualifier-unprinted", "Qualifier unprinted", "The qualifier needs its word in the printed figure "
         "(至少, 不少于, ...) or its marker in the quote (据不完全统计) for a floor."),
    Code("printed-value-mismatch", "Printed value mismatch", "The stored value is not the printed figure "
         "converted to the field's unit."),
    Code("verbatim-not-in-source", "Verbatim not in source", "A field marked verbatim does not occur in the text."),
    # -- conventions: what a row says about its figure
    Code("forecast-flag", "Forecast flag", "The figure is a forecast by its period (after its source's "
         "publication) or by its wording (a forecast marker the package declares, 预计, 据预测, 有望, before the "
         "figure in its quote), but it is not flagged as one; or it is flagged with neither, or its period ended "
         "before the publication."),
    Code("period-not-in-quote", "Period not in quote", "A stored date or period is not readable from the quote "
         "at its precision, and the row does not flag it inferred with a reason."),
    Code("attribution-missing", "Attribution missing", "The quote or its paragraph attributes the figure to a "
         "speaker (a marker the package declares, …认为, 在…看来, with the speaker's name) but the row records no "
         "attribution."),
    Code("reference-not-in-quote", "Reference not in quote", "A reference of the row (an entity, lessor, speaker, "
         "segment, market, authority, publisher, or a text as printed) is not named in its quote or in the context "
         "the package declares for it; the finding names what the quote names instead."),
    Code("reference-kind", "Reference kind", "A reference points at a row of a kind the package does not allow for "
         "that field (a lessor that is not a financial-leasing company)."),
    Code("metric-span", "Metric span", "The row's base period and period contradict the years its metric declares "
         "it spans (a level with a base period, a year-on-year growth over two years, a CAGR without a base), or "
         "the metric declares no span."),
    Code("unaccounted-number", "Unaccounted number", "The source text prints a number with a unit the package "
         "declares (or a date) that is neither a row's printed figure at that place, nor a date a row states, nor "
         "listed as deliberately not tabulated (conventions.untabulated); reported at its line of the text."),
    Code("duplicate-figure", "Duplicate figure", "The same published figure is stored twice (its natural key "
         "repeats), or a figure id is used in two tables."),
    # -- releases
    Code("version-format", "Version format", "The version is not MAJOR.MINOR.PATCH."),
    Code("version-bump", "Version bump", "The version is not raised as much as the changes since the last "
         "release need."),
    Code("changelog", "Changelog", "CHANGELOG.md has no entry for the version."),
)
del F


@dataclass(frozen=True)
class Finding:
    """One problem (or note), located as precisely as the layer allows.

    `file` is relative to the package root (POSIX); `row` counts as frictionless does (the
    header row is 1); `line` is the physical line of a text file, where it is known.
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    row: int | None = None
    field: str | None = None
    layer: str = ""
    rule: str | None = None  # the rule id, constraint or check that failed (e.g. "minimum")
    computed: str | None = None  # interval computed from other figures, e.g. "[520.1365, 521.1375]"
    printed: str | None = None  # interval of the printed figure, e.g. "[519.5, 520.5]"

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"finding code {self.code!r} is not registered in findings.CODES")

    @property
    def severity(self) -> Severity:
        return CODES[self.code].severity

    def location(self) -> str:
        where = self.file or "<package>"
        if self.line is not None:
            where += f":{self.line}"
        elif self.row is not None:
            where += f":row {self.row}"
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
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def errors_markdown() -> str:
    """docs/errors.md: every finding code with its title and description."""
    lines = [
        "<!-- Generated from cbj_figures/findings.py by `cbj-figures errors`; do not edit by hand. -->",
        "",
        "# Finding codes",
        "",
        "Every finding `cbj-figures validate` reports carries one of these codes. Codes marked *frictionless* mean",
        "what the frictionless-py error type of the same name means. A *note* is reported but leaves the package",
        "valid: something was not checked, and the finding says why.",
        "",
        "| code | title | severity | description |",
        "|---|---|---|---|",
    ]
    for c in CODES.values():
        mark = " *(frictionless)*" if c.frictionless else ""
        lines.append(f"| `{c.name}` | {c.title}{mark} | {c.severity} | {c.description} |")
    return "\n".join(lines) + "\n"
