"""The loader: schema types, hash checks on every source kind, clear errors, and a real pip install."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from cbj_figures.frames import to_pandas
from cbj_figures.loader import (
    IntegrityError,
    LoadError,
    UnknownTableError,
    VersionMismatchError,
    data_root,
    load,
)
from cbj_figures.safeio import file_digest
from cbj_figures.schema import parse_schema

REPO = Path(__file__).resolve().parents[1]
VERSION = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["version"]  # the current release


@pytest.fixture
def release_copy(release: Path, tmp_path: Path) -> Path:
    """A private copy of the release that a test may tamper with."""
    target = tmp_path / release.name
    subprocess.run(["cp", "-r", str(release), str(target)], check=True)
    return target


def test_pandas_types_follow_the_schema() -> None:
    df = load("company_financials")
    assert list(df.columns)[:4] == ["figure_id", "entity_id", "metric", "segment"]
    assert df["value"].dtype == "Float64"
    assert df["is_forecast"].dtype == "boolean"
    assert df["figure_id"].dtype == "string"
    assert isinstance(df["metric"].dtype, pd.CategoricalDtype)
    assert list(df["metric"].cat.categories)[:2] == ["revenue", "adjusted_net_profit"]  # enum order kept
    row = df.set_index("figure_id").loc["jiliu-revenue-2025-total"]
    assert row["value"] == 520 and row["printed"] == "5.20亿元"
    sources = load("sources")
    assert sources["text_line_start"].dtype == "Int64"
    assert sources["text_line_start"].isna().any()  # nullable integers stay integers


def test_polars_engine_uses_enums() -> None:
    df = load("company_financials", engine="polars")
    assert isinstance(df, pl.DataFrame)
    assert df.schema["metric"] == pl.Enum(
        [
            "revenue", "adjusted_net_profit", "cost_of_sales", "hardware_purchase_cost_increase",
            "top5_customer_revenue", "top1_customer_revenue", "net_current_liabilities",
            "funding_round_c", "funding_round_d", "post_money_valuation",
        ]
    )
    assert df.schema["value"] == pl.Float64 and df.schema["inferred"] == pl.Boolean


def test_dates_load_as_dates() -> None:
    """No real table has a date field yet; the mapping is checked on a small schema."""
    fields = [{"name": "d", "type": "date"}, {"name": "n", "type": "integer"}]
    schema, problems = parse_schema({"fields": fields}, "t.json")
    assert schema is not None and not problems

    frame = pl.DataFrame({"d": [dt.date(2026, 4, 7), None], "n": [1, None]})
    df = to_pandas(schema, frame)
    assert str(df["d"].dtype) == "datetime64[ns]" and df["d"][0] == pd.Timestamp("2026-04-07")
    assert df["n"].dtype == "Int64" and df["n"].isna()[1]


def test_unknown_table_lists_the_known_ones() -> None:
    with pytest.raises(UnknownTableError) as err:
        load("no_such_table")
    assert "market_size" in str(err.value) and "company_financials" in str(err.value)


def test_version_pin() -> None:
    assert len(load("market_size", version=VERSION)) > 0
    with pytest.raises(VersionMismatchError):
        load("market_size", version="9.9.9")


def test_a_release_of_another_version_is_refused(release: Path) -> None:
    zipped = release.parent / f"{release.name}.zip"
    with pytest.raises(VersionMismatchError, match=r"not the asked 9\.9\.9"):
        load("market_size", source=zipped, version="9.9.9")


def test_source_checkout_falls_back_to_the_repo_root() -> None:
    assert data_root() == REPO


def test_release_folder_and_zip(release: Path) -> None:
    from_folder = load("market_size", source=release, engine="polars")
    from_zip = load("market_size", source=release.parent / f"{release.name}.zip", engine="polars")
    assert from_folder.equals(from_zip)
    assert from_folder.height == load("market_size", engine="polars").height


def test_a_dist_folder_with_several_releases(release: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    other = "9.0.0"  # a second release beside the current one
    for version in (VERSION, other):
        subprocess.run(["cp", "-r", str(release), str(dist / f"pkg-{version}")], check=True)
    descriptor = dist / f"pkg-{other}" / "datapackage.json"
    text = descriptor.read_text(encoding="utf-8")
    descriptor.write_text(text.replace(f'"version": "{VERSION}"', f'"version": "{other}"'), encoding="utf-8")
    with pytest.raises(LoadError, match="more than one package"):
        load("market_size", source=dist)
    assert len(load("market_size", source=dist, version=VERSION)) == len(load("market_size"))


def test_tampered_data_file_is_refused(release_copy: Path) -> None:
    csv = release_copy / "resources" / "market_size.csv"
    csv.write_bytes(csv.read_bytes().replace(b"13800", b"13900"))
    with pytest.raises(IntegrityError) as err:
        load("market_size", source=release_copy)
    assert err.value.file == "resources/market_size.csv"
    assert "resources/market_size.csv" in str(err.value)


def test_tampered_schema_is_refused(release_copy: Path) -> None:
    schema = release_copy / "schemas" / "market_size.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"number"', '"string"'), encoding="utf-8")
    with pytest.raises(IntegrityError, match=r"schemas/market_size\.json"):
        load("market_size", source=release_copy)


def test_a_release_without_hashes_is_refused(release_copy: Path) -> None:
    (release_copy / "SHA256SUMS").unlink()
    with pytest.raises(LoadError, match="SHA256SUMS"):
        load("market_size", source=release_copy)


@pytest.fixture
def served(release: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The dist folder over HTTP on the loopback interface; the download cache in a temp folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(release.parent))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{release.name}.zip"
    finally:
        server.shutdown()
        server.server_close()


def test_known_hash_of_a_local_zip_is_checked(release: Path) -> None:
    """New with the restructure: `known_hash` is checked for a local zip too, and refused for a folder."""
    zipped = release.parent / f"{release.name}.zip"
    digest = file_digest(zipped)[0]
    assert len(load("market_size", source=zipped, known_hash=f"sha256:{digest}")) == len(load("market_size"))
    with pytest.raises(IntegrityError) as err:
        load("market_size", source=zipped, known_hash="0" * 64)
    assert err.value.file == str(zipped)
    with pytest.raises(LoadError, match="not of a folder"):
        load("market_size", source=release, known_hash=f"sha256:{digest}")


def test_url_is_downloaded_into_the_cache_and_checked(served: str, release: Path, tmp_path: Path) -> None:
    digest = file_digest(release.parent / f"{release.name}.zip")[0]
    df = load("market_size", source=served, known_hash=f"sha256:{digest}")
    assert len(df) == len(load("market_size"))
    assert [p.name for p in (tmp_path / "cache" / "cbj-figures").iterdir()] == [f"sha256-{digest}.zip"]
    with pytest.raises(LoadError, match="known_hash"):
        load("market_size", source=served)


def test_url_with_a_wrong_hash_is_refused(served: str) -> None:
    with pytest.raises(ValueError, match="hash"):
        load("market_size", source=served, known_hash="0" * 64)
