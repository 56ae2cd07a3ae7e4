"""Citations: CITATION.cff valid and in step with the descriptor, .zenodo.json fresh, cite() output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cbj_figures.cite import citation_cff, cite, stale_citation_files, write_citation_files, zenodo_metadata
from cbj_figures.package import copy_package

REPO = Path(__file__).resolve().parents[1]
DESCRIPTOR = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))


def load_cff() -> dict:
    return yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))


def check_cff(path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with its vendored CITATION.cff 1.2.0 schema (formats checked too)."""
    cli = Path(sys.executable).with_name("check-jsonschema")
    args = [str(cli), "--builtin-schema", "vendor.citation-file-format", str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False)


def test_citation_cff_is_valid() -> None:
    done = check_cff(REPO / "CITATION.cff")
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_invalid_citation_cff_is_caught(tmp_path: Path) -> None:
    """The check can fail: a CFF without authors and with a malformed date is rejected."""
    cff = load_cff()
    del cff["authors"]
    cff["date-released"] = "28 November 2026"
    (tmp_path / "CITATION.cff").write_text(yaml.safe_dump(cff, allow_unicode=True), encoding="utf-8")
    done = check_cff(tmp_path / "CITATION.cff")
    assert done.returncode == 1 and "authors" in done.stdout + done.stderr


def test_citation_cff_is_in_step_with_the_descriptor() -> None:
    cff = load_cff()
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["title"] == DESCRIPTOR["title"]
    assert cff["version"] == DESCRIPTOR["version"]
    assert cff["date-released"] == DESCRIPTOR["created"][:10]
    assert len(cff["authors"]) == len(DESCRIPTOR["contributors"])
    assert cff["authors"] == citation_cff(REPO)["authors"]


def test_citation_files_are_fresh() -> None:
    """Run `cbj_figures.cite.write_citation_files` after changing datapackage.json."""
    assert stale_citation_files(REPO) == []
    zenodo = json.loads((REPO / ".zenodo.json").read_text(encoding="utf-8"))
    assert zenodo == zenodo_metadata(load_cff())
    assert zenodo["version"] == DESCRIPTOR["version"] and zenodo["upload_type"] == "dataset"


def test_a_version_bump_makes_them_stale(tmp_path: Path) -> None:
    root = copy_package(REPO, tmp_path / "pkg")
    write_citation_files(root)
    assert stale_citation_files(root) == []
    descriptor = root / "datapackage.json"
    text = descriptor.read_text(encoding="utf-8")
    version = DESCRIPTOR["version"]
    major, minor, _ = version.split(".")
    bumped = f"{major}.{int(minor) + 1}.0"
    descriptor.write_text(text.replace(f'"version": "{version}"', f'"version": "{bumped}"'), encoding="utf-8")
    assert stale_citation_files(root) == ["CITATION.cff"]  # .zenodo.json follows CITATION.cff
    write_citation_files(root)
    assert citation_cff(root)["version"] == bumped and stale_citation_files(root) == []


def test_people_become_cff_persons(tmp_path: Path) -> None:
    root = copy_package(REPO, tmp_path / "pkg")
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    person = {"title": "Li Wei", "givenName": "Wei", "familyName": "Li", "roles": ["author"]}
    descriptor["contributors"].insert(0, person)
    (root / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    assert citation_cff(root)["authors"][0] == {"family-names": "Li", "given-names": "Wei"}
    assert "author = {Li, Wei and {cbj-figures maintainers}}" in cite(root=root)
    assert cite(root=root, style="apa").startswith("Li, W., & cbj-figures maintainers. (2026).")


def test_bibtex_of_the_package_carries_its_version() -> None:
    text = cite(root=REPO)
    assert text.startswith("@misc{")
    assert re.search(r"^\s*version = \{(.+)\},?$", text, re.MULTILINE)[1] == DESCRIPTOR["version"]  # type: ignore[index]
    assert re.search(r"^\s*year = \{(\d{4})\},?$", text, re.MULTILINE)[1] == DESCRIPTOR["created"][:4]  # type: ignore[index]
    assert text.count("{") == text.count("}")


def test_apa_of_the_package() -> None:
    assert f"(Version {DESCRIPTOR['version']}) [Data set]." in cite(style="apa", root=REPO)


def test_table_citation() -> None:
    text = cite("market_size", root=REPO)
    assert "table market\\_size (Market size)" in text and "_market_size," in text.splitlines()[0]


def test_figure_citation_chains_primary_source_article_and_quote() -> None:
    text = cite("company_financials/jiliu-revenue-2025-total", root=REPO)
    entries = re.findall(r"^@(\w+)\{([^,]+),", text, re.MULTILINE)
    assert [kind for kind, _ in entries] == ["misc", "misc", "article"]
    assert [key for _, key in entries][1:] == ["jiliu-prospectus", "cbj-jiliu-ipo"]
    assert "2023—2025年,公司收入由3180万元增至5.20亿元" in text  # the verbatim quote
    assert "= 5.20亿元" in text
    assert "journal = {中国经营报}" in text and "author = {许璐 and 李晖}" in text
    apa = cite("company_financials/jiliu-revenue-2025-total", style="apa", root=REPO)
    assert "Primary source: 上海基流科技股份有限公司. (2026). 招股书" in apa
    assert "Reported in: 许璐, & 李晖. (2026). 基流科技拟港股IPO" in apa


def test_a_figure_the_article_states_itself() -> None:
    text = cite("company_financials/jiliu-revenue-2024-total", style="apa", root=REPO)
    assert "Source: 许璐, & 李晖. (2026)." in text and "Reported in" not in text


@pytest.mark.parametrize("target", ["no_table", "company_financials/no-such-figure"])
def test_unknown_targets(target: str) -> None:
    with pytest.raises(LookupError):
        cite(target, root=REPO)


def _without(tmp_path: Path, key: str) -> Path:
    """A copy of the package whose descriptor drops one `conventions` declaration."""
    root = copy_package(REPO, tmp_path / "pkg")
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    del descriptor["conventions"][key]
    (root / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    return root


def test_the_source_chain_is_where_the_package_declares_it(tmp_path: Path) -> None:
    """The toolkit knows no source or publisher field: without `conventions.citation` a figure is
    cited as a row of its table, with no quote and no sources."""
    root = _without(tmp_path, "citation")
    text = cite("company_financials/jiliu-revenue-2025-total", root=root)
    assert "Figure company\\_financials/jiliu-revenue-2025-total = 5.20亿元." in text
    assert text.count("@") == 1 and "Quote" not in text
    apa = cite("company_financials/jiliu-revenue-2025-total", style="apa", root=root)
    assert "Primary source" not in apa and "Quote" not in apa


def test_an_apa_citation_without_authors_leads_with_the_title(tmp_path: Path) -> None:
    root = copy_package(REPO, tmp_path / "pkg")
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    del descriptor["contributors"]
    (root / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    assert cite(style="apa", root=root).startswith(descriptor["title"] + f" (Version {descriptor['version']})")


def test_translations_are_the_languages_the_package_declares(tmp_path: Path) -> None:
    from cbj_figures.dictionary import render_dictionary

    assert "| description | description (zh) |" in render_dictionary(REPO)
    root = _without(tmp_path, "translations")
    text = render_dictionary(root)
    assert "| constraints | description |\n" in text and "来源标识" not in text
