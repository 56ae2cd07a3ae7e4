"""Issue 15, class 2: escaping in every command and every format (P10), and no report lost to it (P13).

One package full of hostile text (ANSI escapes, line breaks and workflow commands, U+2028/2029,
zero-width and bidi characters, BOM, U+061C, noncharacters, Markdown links and remote images,
backticks, HTML, and in the invalid variant lone surrogates), in its title and description, resource
names, field names, rule ids, cell values and a file path with a backtick. Every command runs on it
in every format it has; the bytes printed and written are checked: UTF-8, no unseen character raw,
no workflow command the toolkit did not write, XML that a real parser accepts, Markdown that renders
no live link or image, JSON that parses, HTML that loads nothing remote, and the right exit code.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import Result, Runner, assert_no_traceback
from .small import small_package

HOSTILE = ("T\x1b[31mred\x1b[0m\n::error file=forged.csv,line=1::forged\r::warning::after a CR \u2028::notice::x"
           "\u2029 zero\u200bwidth \ufeffbom \u061calm \u202eover\u202c \u2066iso\u2069 non\ufffe\uffff \x85nel "
           "\x7fdel ![img](https://evil.example/i.png) [link](https://evil.example/l) www.evil.example "
           "https://evil.example/a a@evil.example `tick` <b>bold</b>&amp; |pipe| %0A::error::pct")
SURROGATE = "lone \ud800 and \udfff surrogates"
PATH = "data/a`b c.csv"  # a backtick in a path closes a Markdown code span
FIELD = "v \u202e::error::x`y"
RULES = [HOSTILE, "rule\n::error::x", "![r](https://evil.example/r.png)"]
UNSEEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}
LINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")  # what a log viewer may break a line at
OURS = re.compile(r"^::(error|notice) file=[^,:\r\n]*(,line=\d+)?,title=[^,:\r\n]*::")  # values escaped


@dataclass
class Runs:
    pkg: Path
    results: dict[str, Result] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)


def _valid(pkg: Path) -> Path:
    """Valid in every layer: hostile text where the standard allows any text."""
    fields = [{"name": "id", "type": "string", "description": HOSTILE}, {"name": FIELD, "type": "integer",
                                                                        "title": HOSTILE}]
    small_package(pkg, title=HOSTILE, description=HOSTILE, rows=[["a", "1"], [HOSTILE, "2"]], fields=fields,
                  path=PATH, changelog=HOSTILE)
    return pkg


def _invalid(pkg: Path) -> Path:
    """Every payload at once, lone surrogates (legal JSON escapes) and rule ids included; opts into the
    conventions so that the rule files are read."""
    _valid(pkg)
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["$schema"] = "https://cbj-figures.github.io/cbj-figures/profiles/1.0/datapackage.json"
    descriptor["description"] = SURROGATE
    descriptor["resources"].append({"name": HOSTILE, "path": PATH, "schema": {"fields": [
        {"name": "id", "type": "string", "description": SURROGATE},
        {"name": FIELD, "type": "integer", "constraints": {"maximum": 0}}]}})  # its cells break it
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=True, indent=2), encoding="utf-8")
    (pkg / "checks").mkdir()
    rules = "rules:\n" + "".join(f"  - id: {json.dumps(r)}\n    kind: sum\n    parts: [t/a]\n    total: t/b\n"
                                 for r in RULES)
    (pkg / "checks" / "hostile.yaml").write_text(rules, encoding="utf-8")
    return pkg


VALID_COMMANDS = {
    # name: command line (run in the package folder)
    "validate-text": ["validate", ".", "--all", "--github", "--json", "r/v.json", "--junit", "r/v.xml", "--summary",
                      "r/s.md"],
    **{f"validate-{f}": ["validate", ".", "--format", f] for f in ("json", "junit", "github", "markdown")},
    "build": ["build", "."],
    "site": ["site", ".", "--out", "dist/site"],
    "export": ["export", "."],
    "dictionary": ["dictionary", "."],
    "errors": ["errors", "."],
    "citation": ["citation", "."],
    "cite-bibtex": ["cite", "--package", "."],
    "cite-apa": ["cite", "--package", ".", "--style", "apa"],
    "cite-table": ["cite", "t", "--package", "."],
    "cite-figure": ["cite", "t/a", "--package", "."],
    "diff-text": ["diff", ".", "."],
    "diff-json": ["diff", ".", ".", "--json"],
    "check-version": ["check-version", "."],
    "record-release": ["record-release", "."],
    "versions-text": ["versions", "."],
    "versions-json": ["versions", ".", "--json"],
    "versions-check": ["versions", ".", "--check"],
    "diff-release": ["diff", "1.0.0", "."],
    "rehash": ["rehash", "."],
    "schemas": ["schemas", "."],  # last: it rewrites the schema from the registry (plain field names)
}
INVALID_COMMANDS = {
    **{f"validate-{f}": ["validate", ".", "--format", f, "--json", f"r/{f}.json", "--junit", f"r/{f}.xml",
                         "--summary", f"r/{f}.md", *(["--github", "--all"] if f == "text" else [])]
       for f in ("text", "json", "junit", "github", "markdown")},
    "build": ["build", "."],
    "site": ["site", ".", "--out", "dist/site"],
    "cite-bibtex": ["cite", "--package", "."],
    "cite-apa": ["cite", "--package", ".", "--style", "apa"],
    "diff-text": ["diff", ".", "."],
    "check-version": ["check-version", "."],
    "rehash": ["rehash", "."],
    "citation": ["citation", "."],
    "dictionary": ["dictionary", "."],
}


def _run_all(base: Path, make: object, commands: dict[str, list[str]]) -> Runs:
    pkg = make(base / "pkg")  # type: ignore[operator]
    runner = Runner(base / "run")
    runs = Runs(pkg)
    for name, args in commands.items():
        runs.results[name] = runner(*args, cwd=pkg, timeout=300)
    runner.cleanup()
    return runs


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield _run_all(tmp_path_factory.mktemp("hostile-valid"), _valid, VALID_COMMANDS)


@pytest.fixture(scope="module")
def invalid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    yield _run_all(tmp_path_factory.mktemp("hostile-invalid"), _invalid, INVALID_COMMANDS)


# ---------------------------------------------------------------- what any output must be


def assert_safe(text: str, what: str, *, workflow: bool = False, log: bool = True) -> None:
    """No unseen character raw but line ends (and tabs), and (in what may reach a CI log) no line a workflow
    command that is not ours."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if ch not in "\n\t" and unicodedata.category(ch) in UNSEEN})
    assert bad == [], f"{what}: raw unseen characters {bad[:12]}"
    for line in LINES.split(text) if log else []:
        if line.lstrip().startswith("::"):
            assert workflow and OURS.match(line), f"{what}: a workflow command the toolkit did not write: {line!r}"


def assert_bytes_safe(data: bytes, what: str, **kw: bool) -> str:
    text = data.decode("utf-8")  # strict: a lone surrogate cannot have been written
    assert_safe(text, what, **kw)
    return text


def assert_markdown_inert(text: str, what: str) -> None:
    """Rendered as CommonMark with tables (what GitHub starts from): no link or image the package made."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<img" not in html and "<a " not in html, f"{what}: live link or image: {html[:2000]}"
    autolink = re.search(r"www\.|[a-z]+://|\w@\w", text)  # GitHub links these in plain text too
    where = text[autolink.start() - 40 : autolink.end() + 40] if autolink else ""
    assert autolink is None, f"{what}: an autolink GitHub would make: {where!r}"


def assert_xml(data: bytes, what: str) -> None:
    ET.fromstring(data)  # a real parser: raises on anything XML 1.0 forbids
    assert_bytes_safe(data, what)


def _check(result: Result, name: str, allowed: tuple[int, ...]) -> None:
    assert_no_traceback(result)
    assert not result.timed_out, result.brief()
    assert result.rc in allowed, f"{name}: exit {result.rc}, expected {allowed}\n{result.brief()}"
    assert_safe(result.out, f"{name} stdout", workflow=True)
    assert_safe(result.err, f"{name} stderr")


# ---------------------------------------------------------------- the valid package


@pytest.mark.parametrize("name", list(VALID_COMMANDS))
def test_every_command_on_the_valid_hostile_package(valid: Runs, name: str) -> None:
    result = valid.results[name]
    _check(result, name, (0,))
    if name.endswith("json") and name.startswith(("diff", "versions", "validate")):
        json.loads(result.out)
    if name == "validate-junit":
        assert_xml(result.out.encode(), name)
    if name == "validate-markdown":
        assert_markdown_inert(result.out, name)


def test_the_valid_package_keeps_its_text(valid: Runs) -> None:
    """Control: escaping keeps the data (the JSON report names the hostile field, title and path intact)."""
    report = json.loads((valid.pkg / "r" / "v.json").read_text(encoding="utf-8"))
    assert report["valid"] is True
    built = json.loads(next((valid.pkg / "dist").glob("*/datapackage.json")).read_text(encoding="utf-8"))
    assert built["title"] == HOSTILE and built["resources"][0]["path"] == PATH
    assert "evil.example" in valid.results["cite-bibtex"].out  # shown, as text


def test_the_valid_package_reports(valid: Runs) -> None:
    assert_xml((valid.pkg / "r" / "v.xml").read_bytes(), "--junit")
    summary = assert_bytes_safe((valid.pkg / "r" / "s.md").read_bytes(), "--summary")
    assert_markdown_inert(summary, "--summary")


def test_the_written_files(valid: Runs) -> None:
    """The dictionary renders no link or image; the citation files parse; the site loads nothing remote."""
    dictionary = assert_bytes_safe((valid.pkg / "docs" / "data-dictionary.md").read_bytes(), "dictionary")
    assert_markdown_inert(dictionary, "dictionary")
    yaml.safe_load((valid.pkg / "CITATION.cff").read_text(encoding="utf-8"))
    json.loads((valid.pkg / ".zenodo.json").read_text(encoding="utf-8"))
    pages = sorted((valid.pkg / "dist" / "site").rglob("*.html"))
    assert len(pages) > 3
    loads = re.compile(r"""<(img|script|iframe|link|source|video|audio|embed|object)\b[^>]*?\b(src|href|data|poster)"""
                       r"""\s*=\s*["']?\s*(https?:|//)""", re.I)
    for page in pages:
        html = assert_bytes_safe(page.read_bytes(), str(page), log=False)  # a page, not a log
        assert not loads.search(html), f"{page.name} loads something remote: {loads.search(html)}"
        assert "url(http" not in html and "url(//" not in html
    releases = (valid.pkg / "dist" / "site" / "releases.html").read_text(encoding="utf-8")
    assert "evil.example/i.png" in releases  # the changelog's image is there, as a link


# ---------------------------------------------------------------- the invalid package


@pytest.mark.parametrize("name", list(INVALID_COMMANDS))
def test_every_command_on_the_invalid_hostile_package(invalid: Runs, name: str) -> None:
    result = invalid.results[name]
    allowed = (1,) if name.startswith("validate") else (0, 1, 2)
    if name in ("build", "rehash", "citation"):
        allowed = (2,)  # refused in one line: the package is invalid, or its text cannot be written as UTF-8
    _check(result, name, allowed)
    if name.startswith("validate-"):
        fmt = name.removeprefix("validate-")
        report = json.loads((invalid.pkg / "r" / f"{fmt}.json").read_text(encoding="utf-8"))
        assert report["valid"] is False and len(report["findings"]) > 5, "the JSON report was lost or emptied"
        assert_xml((invalid.pkg / "r" / f"{fmt}.xml").read_bytes(), f"{name} --junit")
        summary = assert_bytes_safe((invalid.pkg / "r" / f"{fmt}.md").read_bytes(), f"{name} --summary")
        assert_markdown_inert(summary, f"{name} --summary")
        assert "data/a\\`b c" in summary  # the path's backtick escaped: no code span ends in it
        if fmt == "json":
            assert json.loads(result.out) == report
        if fmt == "junit":
            assert_xml(result.out.encode(), name)
        if fmt == "markdown":
            assert_markdown_inert(result.out, name)


def test_the_invalid_report_names_every_payload(invalid: Runs) -> None:
    """Control: rule ids, field and resource names and lone surrogates are all in the findings, located."""
    report = json.loads((invalid.pkg / "r" / "json.json").read_text(encoding="utf-8"))
    assert set(RULES) <= {f["rule"] for f in report["findings"]}, "the rule ids did not reach the report"
    assert any(f["field"] == FIELD and f["file"] == PATH for f in report["findings"])
    assert any(f["field"] == "$.resources[1].name" and "evil.example/i.png" in f["message"] for f in report["findings"])
    assert any(f["code"] == "metadata-error" and f["field"] == "$.description" for f in report["findings"])
