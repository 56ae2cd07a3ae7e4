"""The registry of finding codes, its generated documentation, and what the renderers do with package text."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cbj_figures.findings import CODES, Finding, Report, errors_markdown
from cbj_figures.render import RENDERERS, clean, render

REPO = Path(__file__).resolve().parents[1]
FRICTIONLESS_TYPES = {  # the row, cell, label and file errors of frictionless-py 5 that `validate` reports
    "blank-row", "extra-cell", "missing-cell", "type-error", "constraint-error", "unique-error", "primary-key",
    "foreign-key", "blank-label", "duplicate-label", "incorrect-label", "extra-label", "missing-label",
    "blank-header", "unmatched-header", "encoding-error", "hash-count", "byte-count", "scheme-error",
    "source-error", "format-error",
}


def test_docs_errors_md_is_what_the_registry_generates() -> None:
    """Run `cbj-figures errors` after changing findings.CODES."""
    assert (REPO / "docs" / "errors.md").read_text(encoding="utf-8") == errors_markdown()


def test_codes_aligned_with_frictionless_carry_its_names() -> None:
    import frictionless.errors as fe

    types = {cls.type for cls in vars(fe).values() if isinstance(cls, type) and hasattr(cls, "type")}
    assert types >= FRICTIONLESS_TYPES
    for name in FRICTIONLESS_TYPES:
        assert CODES[name].frictionless, name
    assert {c.name for c in CODES.values() if c.frictionless} <= types


def test_every_code_the_toolkit_emits_is_registered() -> None:
    """A static scan of the code: each literal code given to Finding(...) is in the registry (a finding with an
    unregistered code also raises at once, so a path the scan misses still cannot emit one)."""
    emitted = set()
    for path in (REPO / "cbj_figures").glob("*.py"):
        emitted |= set(re.findall(r'Finding\(\s*"([a-z-]+)"', path.read_text(encoding="utf-8")))
        emitted |= set(re.findall(r'(?:bad|fail|_bad|add)\(\s*"([a-z]+-[a-z-]+)"', path.read_text(encoding="utf-8")))
    assert emitted and emitted <= set(CODES), emitted - set(CODES)
    with pytest.raises(ValueError, match="not registered"):
        Finding("no-such-code", "x")


def test_notes_leave_the_package_valid() -> None:
    report = Report("p", [Finding("not-checked", "remote data not fetched"), Finding("unsupported", "x")])
    assert report.valid and not report.errors
    report.findings.append(Finding("type-error", "x"))
    assert not report.valid


HOSTILE = "bad\x1b[31m::error file=x::forged\n::stop-commands::tok\r%0A\u202e"


def hostile_report() -> Report:
    f = Finding("rule-failed", HOSTILE, file=f"resources/{HOSTILE}.csv", line=3, field=HOSTILE, rule=HOSTILE,
                layer="consistency")
    return Report(HOSTILE, [f], layers_run=["consistency"])


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit"])
def test_no_renderer_lets_package_text_start_a_workflow_command(fmt: str) -> None:
    out = render(hostile_report(), fmt)
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    for line in out.splitlines():
        stripped = line.strip()
        if stripped.startswith("::"):
            assert fmt == "github" and re.match(r"^::error file=[^,:]*,line=3,title=[^,:]*::", stripped), line


def test_github_annotations_escape_properties_and_data() -> None:
    (line,) = render(hostile_report(), "github").splitlines()
    head, _, message = line.partition("::")[2].partition("::")
    assert "%3A%3Aerror file=x%3A%3Aforged" in head  # in a property, `:` and `,` are escaped too
    assert "%0A::stop-commands::tok%0D%250A" in message  # in the data, line breaks and `%`


def test_junit_stays_valid_xml_with_control_characters() -> None:
    root = ET.fromstring(render(hostile_report(), "junit").encode("utf-8"))
    (failure,) = root.iter("failure")
    assert "\\x1b" in failure.get("message")


def test_json_keeps_the_text_and_stays_json() -> None:
    payload = json.loads(render(hostile_report(), "json"))
    assert payload["findings"][0]["message"] == HOSTILE


def test_clean_escapes_visibly() -> None:
    assert clean("a\nb\x1b") == "a\\x0ab\\x1b"
    assert clean("::x") == ":\\x3ax"
    assert set(RENDERERS) == {"text", "markdown", "json", "junit", "github"}
