"""Issue 15, P13: no report is lost. A layer that fails (a bug of ours, forced here) is one `internal-error`
finding of that layer; the layers after it still run and `--json/--junit/--summary` are still written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cbj_figures import cli, validate

from .small import small_package


def test_a_failing_layer_loses_no_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    pkg = small_package(tmp_path / "pkg")

    def broken(ctx: validate.Context) -> list:
        raise KeyError("a bug of ours")

    layers = tuple(validate.Layer(x.name, broken) if x.name == "tables" else x for x in validate.LAYERS)
    monkeypatch.setattr(validate, "LAYERS", layers)
    reports = tmp_path / "reports"
    rc = cli.main(["validate", str(pkg), "--json", str(reports / "r.json"), "--junit", str(reports / "r.xml"),
                   "--summary", str(reports / "s.md")])
    assert rc == 1
    report = json.loads((reports / "r.json").read_text(encoding="utf-8"))
    [failure] = [f for f in report["findings"] if f["code"] == "internal-error"]
    assert failure["layer"] == "tables" and "KeyError" in failure["message"]
    assert report["layers_run"][:2] == ["descriptor", "tables"] and report["valid"] is False
    ET.parse(reports / "r.xml")
    assert "internal\\-error" in (reports / "s.md").read_text(encoding="utf-8")
    assert "internal-error" in capsys.readouterr().out
