"""Nothing of this package is hard-coded in the toolkit: what is ours, the package declares.

No name of our descriptor (a table, a field of ours, a row id, a coded value) appears as a string literal in the
toolkit's code, except where the same word is the toolkit's own vocabulary (a key of our profile's `conventions`,
a rule-file key, a site.yaml key, a finding attribute), which the toolkit defines, not the package. The
behaviour is shown on another package: tests/test_claims_elsewhere.py runs the same checks on an English one.
"""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

from cbj_figures import findings, kinds, printed, rulefile, views
from cbj_figures.site import config as site_config

REPO = Path(__file__).resolve().parents[1]
TOOLKIT = REPO / "cbj_figures"
PROFILE = TOOLKIT / "assets" / "conventions-datapackage-1.0.json"
# The field properties the conventions define (docs/DESIGN.md, "Conventions a package must follow", 2 and 6).
FIELD_PROPERTIES = {"unit", "printed", "qualifier", "partialDate", "verbatim", "naturalKey"}


def names_of_ours() -> dict[str, str]:
    """Every name the descriptor gives: tables, their fields, the ids of their rows, the coded values."""
    descriptor = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for res in descriptor["resources"]:
        out.setdefault(res["name"], "table")
        if not isinstance(res.get("schema"), str):
            continue
        schema = json.loads((REPO / res["schema"]).read_text(encoding="utf-8"))
        for f in schema["fields"]:
            out.setdefault(f["name"], "field")
            for value in (f.get("constraints") or {}).get("enum", []):
                out.setdefault(str(value), "coded value")
        (key,) = schema["primaryKey"]
        with open(REPO / res["path"], encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.setdefault(row[key], "row id")
    return out


def _keys(node: object) -> set[str]:
    """Property names and enum values of a JSON Schema, at every depth."""
    out: set[str] = set()
    if isinstance(node, dict):
        out |= set((node.get("properties") or {}).keys())
        out |= {str(v) for v in node.get("enum", []) if isinstance(v, str)}
        for value in node.values():
            out |= _keys(value)
    elif isinstance(node, list):
        for value in node:
            out |= _keys(value)
    return out


def toolkit_vocabulary() -> set[str]:
    """Words the toolkit defines itself, which a package may happen to use as names too."""
    words = _keys(json.loads(PROFILE.read_text(encoding="utf-8"))) | FIELD_PROPERTIES
    words |= {k for spec in kinds.KINDS.values() for k in (*spec.required, *spec.optional)} | set(rulefile.COMMON_KEYS)
    words |= set(rulefile.EXPR_OPS) | {"const", "count", "date", "printed", "qualifier", "unit", "quote", "source"}
    words |= set(printed.QUALIFIERS) | set(views._KEYS) | set(site_config._CHART_KEYS)
    words |= {f for f in findings.Finding.__dataclass_fields__} | {c.severity for c in findings.CODES.values()}
    return words | {"zh", "en"}  # site.yaml's labels: each coded value in Chinese and English


def literals(folder: Path = TOOLKIT) -> list[tuple[str, str, int]]:
    """(text, file, line) of every string literal of the toolkit's code (generated validators/ are outside it)."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append((node.value, path.relative_to(folder.parent).as_posix(), node.lineno))
    return out


def test_no_name_of_the_package_is_a_literal_of_the_toolkit():
    ours = names_of_ours()
    vocabulary = toolkit_vocabulary()
    assert {"company_financials", "figure_id", "source_id", "jiliu_technology", "ai_cluster_products"} <= set(ours)
    found = [f"{file}:{line}: {text!r} ({ours[text]} of the package)" for text, file, line in literals()
             if text in ours and not allowed(text, ours[text], file, vocabulary)]
    assert found == [], "\n".join(found)


def allowed(text: str, what: str, file: str, vocabulary: set[str]) -> bool:
    """A word of the toolkit's vocabulary; one that also names a table of ours (`sources`, a key of
    conventions.citation) only in the module that reads the declaration."""
    return text in vocabulary and (what != "table" or file == "cbj_figures/evidence.py")


def test_the_vocabulary_is_the_toolkits_own_and_small():
    """The exemption is narrow: only words the toolkit itself defines, and few of our names fall under it."""
    ours = set(names_of_ours())
    shared = ours & toolkit_vocabulary()
    assert shared <= {"printed", "qualifier", "value", "kind", "date", "quote", "note", "title_zh", "authors",
                      "language", "metric", "period", "inferred", "exact", "approx", "more_than", "at_least",
                      "nearly", "at_most", "range_low", "range_high", "unit", "sources", "publisher", "total",
                      "zh"}, shared
    assert not shared & {"source_id", "figure_id", "entity_id", "reported_in", "text_resource", "attributed_to",
                         "is_forecast", "base_period", "segment", "name_zh", "short_name_zh"}


def test_a_hard_coded_name_would_be_found(tmp_path):
    """The test can fail: a literal table, field or row id in a toolkit module is reported."""
    (tmp_path / "cbj_figures").mkdir()
    (tmp_path / "cbj_figures" / "probe.py").write_text(
        'TABLE, FIELD = "company_financials", "segment"\nROW = {"entity_id": "jiliu_technology"}\n', encoding="utf-8")
    ours = names_of_ours()
    vocabulary = toolkit_vocabulary()
    found = [text for text, *_ in literals(tmp_path / "cbj_figures") if text in ours and text not in vocabulary]
    assert found == ["company_financials", "segment", "entity_id", "jiliu_technology"]
