"""Attack 4: secrets echoed.

A table or source text that is a symlink to `/proc/self/environ` or to a key file outside the
package: the toolkit must refuse it with a finding and never echo what it points at, in any
report (stdout, stderr, --json, --junit, --summary, --github) or build output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Runner, assert_no_traceback, files_below, json_report

TEXT = "resources/sources/000_d31d061fede478c7.txt"


def _key_file(tmp_path: Path, canary: str) -> Path:
    """A credential outside the package, the secret on its first line (as a token file has it)."""
    path = tmp_path / "outside" / "token"
    path.parent.mkdir()
    path.write_text(f"{canary}\nghp_second_line_{canary}\n", encoding="utf-8")
    return path


def _reports(tmp_path: Path) -> dict[str, Path]:
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    return {"json": reports / "r.json", "junit": reports / "r.xml", "summary": reports / "summary.md"}


def _validate_everything(cli: Runner, pkg: Path, reports: dict[str, Path], canary: str):
    return cli(
        "validate", pkg, "--all", "--github",
        "--json", reports["json"], "--junit", reports["junit"], "--summary", reports["summary"],
        env={"CBJ_SECRET_TOKEN": canary},
    )


def _assert_never_echoed(canary: str, result, reports: dict[str, Path]) -> None:
    assert canary not in result.out, f"the secret reached stdout:\n{result.brief()}"
    assert canary not in result.err, f"the secret reached stderr:\n{result.brief()}"
    for kind, path in reports.items():
        if path.exists():
            assert canary not in path.read_text(encoding="utf-8", errors="replace"), f"the secret is in --{kind}"


@pytest.mark.slow
@pytest.mark.parametrize("target", ["environ", "key-file"])
@pytest.mark.parametrize("table", ["market_size", "entities"])
def test_a_table_symlinked_outside_is_refused_without_echo(
    target: str, table: str, pkg: Path, cli: Runner, tmp_path: Path, canary: str
) -> None:
    path = pkg / "resources" / f"{table}.csv"
    path.unlink()
    path.symlink_to("/proc/self/environ" if target == "environ" else _key_file(tmp_path, canary))
    reports = _reports(tmp_path)
    result = _validate_everything(cli, pkg, reports, canary)
    _assert_never_echoed(canary, result, reports)
    assert_no_traceback(result)
    assert result.rc == 1, f"a symlink outside the package is a finding (exit 1):\n{result.brief()}"
    files = {f["file"] for f in json_report(reports["json"])["findings"]}
    assert f"resources/{table}.csv" in files


@pytest.mark.slow
@pytest.mark.parametrize("target", ["environ", "key-file"])
def test_a_source_text_symlinked_outside_is_refused_without_echo(
    target: str, pkg: Path, cli: Runner, tmp_path: Path, canary: str
) -> None:
    (pkg / TEXT).unlink()
    (pkg / TEXT).symlink_to("/proc/self/environ" if target == "environ" else _key_file(tmp_path, canary))
    reports = _reports(tmp_path)
    result = _validate_everything(cli, pkg, reports, canary)
    _assert_never_echoed(canary, result, reports)
    assert_no_traceback(result)
    assert result.rc == 1, result.brief()
    findings = json_report(reports["json"])["findings"]
    assert any(TEXT in (f["file"] or "") + f["message"] for f in findings), f"no finding names {TEXT}"


@pytest.mark.parametrize("rel", [TEXT, "resources/market_size.csv", "schemas/market_size.json", "checks/jiliu.yaml"])
def test_a_symlink_outside_is_refused_even_to_the_genuine_bytes(
    rel: str, pkg: Path, cli: Runner, tmp_path: Path
) -> None:
    """The file is moved outside the package and linked back: same bytes, same hash, still refused."""
    outside = tmp_path / "outside" / Path(rel).name
    outside.parent.mkdir()
    (pkg / rel).rename(outside)
    (pkg / rel).symlink_to(outside)
    reports = _reports(tmp_path)
    result = cli("validate", pkg, "--json", reports["json"])
    assert_no_traceback(result)
    assert result.rc == 1, f"a file outside the package was read as part of it:\n{result.brief()}"
    findings = json_report(reports["json"])["findings"]
    assert any(rel in (f["file"] or "") + f["message"] for f in findings), f"no finding names {rel}"


@pytest.mark.parametrize("target", ["environ", "key-file"])
def test_build_never_ships_a_source_text_from_outside(
    target: str, pkg: Path, cli: Runner, tmp_path: Path, canary: str
) -> None:
    """The source text links to a secret: the release (folder and zip) must not contain it."""
    (pkg / TEXT).unlink()
    (pkg / TEXT).symlink_to("/proc/self/environ" if target == "environ" else _key_file(tmp_path, canary))
    out = tmp_path / "out"
    result = cli("build", pkg, "--out", out, env={"CBJ_SECRET_TOKEN": canary})
    leaked = [name for name, data in files_below(out).items() if canary.encode() in data]
    assert leaked == [], f"the release contains the secret: {leaked}\n{result.brief()}"
    assert canary not in result.text
    assert_no_traceback(result)
    assert result.rc == 2, f"a package with a symlink outside cannot be released:\n{result.brief()}"


@pytest.mark.parametrize("target", ["environ", "key-file"])
def test_build_never_echoes_a_table_from_outside(
    target: str, pkg: Path, cli: Runner, tmp_path: Path, canary: str
) -> None:
    """build refuses a package with table findings and quotes them: never the secret they point at."""
    path = pkg / "resources" / "entities.csv"
    path.unlink()
    path.symlink_to("/proc/self/environ" if target == "environ" else _key_file(tmp_path, canary))
    out = tmp_path / "out"
    result = cli("build", pkg, "--out", out, env={"CBJ_SECRET_TOKEN": canary})
    assert canary not in result.text, f"build echoed the secret:\n{result.brief()}"
    assert not any(canary.encode() in data for data in files_below(out).values())
    assert_no_traceback(result)
    assert result.rc == 2, result.brief()


@pytest.mark.slow
def test_diff_and_cite_never_echo_a_table_from_outside(
    pkg: Path, cli: Runner, tmp_path: Path, canary: str
) -> None:
    """The other readers of tables: `diff` and `cite` of a figure."""
    path = pkg / "resources" / "entities.csv"
    path.unlink()
    path.symlink_to(_key_file(tmp_path, canary))
    results = [
        cli("diff", pkg, pkg),
        cli("cite", "company_financials/jiliu-revenue-2025-total", "--package", pkg),
        cli("cite", "--package", pkg),
    ]
    for result in results:
        assert canary not in result.text, f"the secret was echoed:\n{result.brief()}"
        assert_no_traceback(result)
