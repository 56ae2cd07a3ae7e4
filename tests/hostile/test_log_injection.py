"""Attack 5: CI log injection.

Everything a package says (rule ids, quotes, field names, file names) ends up in CI logs. The
promise: reports escape control characters and GitHub workflow-command syntax everywhere: no
line of stdout is a workflow command except our own `::error` lines, those escape their
`file=`/`title=` properties, no raw ESC byte reaches the log, JUnit stays valid XML and JSON
stays JSON.

One hostile package (every payload at once) is validated once for the whole module.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import (
    Result,
    Runner,
    copy_package,
    edit_descriptor,
    edit_row,
    edit_schema,
    field_of,
    read_rows,
    rehash,
    resource_of,
    write_rows,
)

RULE_IDS = [
    "inj-newline\n::error file=forged.csv,line=1::forged by a rule id",
    "inj-stop\n::stop-commands::cbjtoken",
    "inj-cr\r::warning::forged after a carriage return",
    "inj-ansi \x1b[31mRED\x1b[0m",
    "inj-pct %0A::error::forged via percent",
    "inj-colons\n:::add-mask:::secret",
    "inj-props ,file=forged.py,title=forged",
    "inj-ctrl \x00\x01\x08\x0b\x0c\x7f end",
]
QUOTE = "目前公司\x1b[31m市场份额约1.1%\r::warning file=forged.txt::forged by a quote"
FIELD = "note \x1b[32m::error file=forged-field::x %0A,title=forged"
TABLE_FILE = "resources/policy\n::stop-commands::tok2,line=9,title=forged.csv"
COMMANDS = re.compile(r"\r\n|\r|\n")  # how the runner splits output into lines (a lone CR too)
PROPERTIES = {"file", "line", "endLine", "col", "endColumn", "title"}


@dataclass
class Run:
    result: Result
    report: dict
    junit: Path
    summary: Path


def _hostile_package(pkg: Path) -> None:
    rules = "rules:\n" + "".join(f"  - id: {json.dumps(i)}\n    kind: no-such-kind\n" for i in RULE_IDS)
    (pkg / "checks" / "zz_injection.yaml").write_text(rules, encoding="utf-8")
    edit_row(pkg, "company_ratios", "jiliu-market-share-2025", quote=QUOTE)
    # a field whose name carries the payload, with a constraint its cells break
    edit_schema(pkg, "market_size", lambda s: field_of(s, "note").update(name=FIELD, constraints={"maxLength": 1}))
    rows = read_rows(pkg, "market_size")
    rows[0][rows[0].index("note")] = FIELD
    rows[1][rows[0].index(FIELD)] = "too long for one character"
    write_rows(pkg, "market_size", rows)
    # a table file whose name carries the payload, with a cell its type refuses
    edit_row(pkg, "policy_events", "nfra-leasing-pilot-2024-10", inferred="maybe")
    (pkg / "resources" / "policy_events.csv").rename(pkg / TABLE_FILE)
    edit_descriptor(pkg, lambda d: resource_of(d, "policy_events").update(path=TABLE_FILE))
    rehash(pkg)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    base = tmp_path_factory.mktemp("injection")
    pkg = copy_package(base / "pkg")
    _hostile_package(pkg)
    runner = Runner(base / "run")
    reports = base / "reports"
    reports.mkdir()
    paths = {"json": reports / "r.json", "junit": reports / "r.xml", "summary": reports / "summary.md"}
    result = runner(
        "validate", pkg, "--github",
        "--json", paths["json"], "--junit", paths["junit"], "--summary", paths["summary"],
    )
    runner.cleanup()
    assert result.rc == 1 and paths["json"].is_file(), f"the package must validate with findings:\n{result.brief()}"
    yield Run(result, json.loads(paths["json"].read_text(encoding="utf-8")), paths["junit"], paths["summary"])


def _unescape(value: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


def test_the_package_data_reaches_the_json_report_intact(run: Run) -> None:
    """Control: the payloads are in the findings (escaping must keep the data, not drop it)."""
    rules = {f["rule"] for f in run.report["findings"]}
    assert set(RULE_IDS) <= rules
    assert TABLE_FILE in {f["file"] for f in run.report["findings"]}


def test_no_stdout_line_is_a_forged_workflow_command(run: Run) -> None:
    lines = COMMANDS.split(run.result.out)
    forged = [line for line in lines if line.lstrip().startswith("::") and not line.startswith("::error ")]
    assert forged == [], f"workflow commands forged by the package reach the log: {forged[:5]}"


def test_each_annotation_is_one_finding_with_escaped_properties(run: Run) -> None:
    lines = [line for line in COMMANDS.split(run.result.out) if line.startswith("::error ")]
    seen = []
    for line in lines:
        props, sep, _message = line.removeprefix("::error ").partition("::")
        assert sep, f"an annotation without its message separator: {line!r}"
        pairs = [p.partition("=") for p in props.split(",")]
        keys = [k for k, _, _ in pairs]
        assert all(eq for _, eq, _ in pairs) and set(keys) <= PROPERTIES and len(keys) == len(set(keys)), (
            f"the properties of an annotation were injected into: {line!r}"
        )
        values = {k: v for k, _, v in pairs}
        assert not any(ch in v for v in values.values() for ch in "\r\n"), line
        assert values.get("line", "0").isdigit(), f"a forged line number: {line!r}"
        seen.append((_unescape(values.get("file", "")), int(values["line"]) if "line" in values else None))
    expected = [(f["file"] or "datapackage.json", f["line"]) for f in run.report["findings"]]
    assert Counter(seen) == Counter(expected), "the annotations are not one per finding (forged or lost ones)"


def test_no_raw_control_character_reaches_the_log(run: Run) -> None:
    """No ESC (ANSI colours, cursor moves), CR or other C0 control byte: only newline and tab."""
    for name, text in (("stdout", run.result.out), ("stderr", run.result.err),
                       ("--summary", run.summary.read_text(encoding="utf-8"))):
        bad = sorted({repr(ch) for ch in text if (ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 0x7F})
        assert bad == [], f"raw control characters in {name}: {bad}"


def test_junit_stays_valid_xml(run: Run) -> None:
    root = ET.parse(run.junit).getroot()  # raises on control characters that XML 1.0 forbids
    failures = sum(1 for _ in root.iter("failure"))
    assert failures == len(run.report["findings"])


def test_text_report_lines_start_where_findings_start(run: Run) -> None:
    """In the text report each finding is one line: a payload cannot start a line of its own."""
    text_part = run.result.out.rpartition("\ninvalid: ")[0]  # the text report ends with its verdict
    assert text_part, "no text report on stdout"
    lines = COMMANDS.split(text_part)
    starts = [line for line in lines if line and not line.startswith((" ", "\t"))]
    allowed = re.compile(r"^(descriptor|tables|conventions|pandera|consistency|provenance|great_expectations"
                         r"|reconciliation|valid|invalid: \d+ error\(s\))\b")
    assert [s for s in starts if not allowed.match(s)] == [], "a payload started a line of the text report"
