"""The packages the benchmark measures, generated with a fixed seed (standard Data Packages, no conventions).

- `figures(root, rows)`: a Data Package v2 whose `observations` table has the shape of our figure tables
  (the 16 fields, patterns, enums and keys of schemas/company_financials.json; its entity table becomes
  `regions`), with a `sources` table and a `regions` table it references, each schema in its own file,
  and the sha256 and size of every file declared. `broken=True` makes the last row's entity dangle
  (a foreign-key error at the last line, and nothing else).
- `gdp(root, rows)`: the shape of the public `datasets/gdp` package (a v1 descriptor without `$schema`,
  one table `gdp` with `Country Name`, `Country Code`, `Year` (year) and `Value` (number), no keys,
  no hash), its ~15k country-years repeated to `rows` rows. About one country in eight has a comma in
  its name (`"Korea, Rep."`), so those cells are quoted, as in the real file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
SEED = 20261128
REGIONS = 300
SEGMENTS = {"agriculture": "农业", "industry": "工业", "construction": "建筑业", "services": "服务业"}
TOTAL = "total"
V2 = "https://datapackage.org/profiles/2.0/datapackage.json"
TS = "https://datapackage.org/profiles/2.0/tableschema.json"
DANGLING = "r999"  # the entity of the broken variant's last row: not a region


def _digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ the figure-table shape


def _schemas() -> dict[str, dict]:
    pattern_id = {"pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
    key = {"required": True, "unique": True, **pattern_id}
    source_fk = {"fields": ["source_id"], "reference": {"resource": "sources", "fields": ["source_id"]}}
    return {
        "sources": {
            "$schema": TS,
            "fields": [
                {"name": "source_id", "type": "string", "constraints": key},
                {"name": "title_zh", "type": "string", "constraints": {"required": True}},
                {"name": "reported_in", "type": "string", "constraints": pattern_id},
                {"name": "quote", "type": "string", "constraints": {"required": True, "minLength": 1}},
            ],
            "missingValues": [""],
            "primaryKey": ["source_id"],
            "foreignKeys": [{"fields": ["reported_in"], "reference": {"resource": "sources", "fields": ["source_id"]}}],
        },
        "regions": {
            "$schema": TS,
            "fields": [
                {"name": "region_id", "type": "string", "constraints": {"required": True, "pattern": "^r[0-9]{3}$"}},
                {"name": "name_zh", "type": "string", "constraints": {"required": True}},
                {"name": "source_id", "type": "string", "constraints": {"required": True, **pattern_id}},
                {"name": "quote", "type": "string", "constraints": {"required": True, "minLength": 1}},
            ],
            "missingValues": [""],
            "primaryKey": ["region_id"],
            "foreignKeys": [source_fk],
        },
        "observations": _observations_schema(),
    }


def _observations_schema() -> dict:
    """schemas/company_financials.json as it is, but for the metric and segment enums of the generated
    data and its entity table (`regions`)."""
    schema = json.loads((REPO / "schemas" / "company_financials.json").read_text(encoding="utf-8"))
    schema.pop("naturalKey", None)  # a convention (checked only in packages that opt into them)
    for f in schema["fields"]:
        if f["name"] == "metric":
            f["constraints"]["enum"] = ["gross_value_added"]
        if f["name"] == "segment":
            f["constraints"]["enum"] = [*SEGMENTS, TOTAL]
    for fk in schema["foreignKeys"]:
        if fk["reference"]["resource"] == "entities":
            fk["reference"] = {"resource": "regions", "fields": ["region_id"]}
    return schema


CHUNK_GROUPS = 2_000_000  # groups of five rows generated at a time: 10M rows, so that 100M fit in memory


def _observations(rng: np.random.Generator, start: int, end: int, broken: bool, n_all: int) -> pl.DataFrame:
    """The rows of groups start..end (in one piece up to 10M rows, as before: the same rows for the same seed)."""
    groups = end - start
    g = np.arange(start, end)
    tenths = np.concatenate([rng.integers(10, 1000, size=(groups, 4)), np.zeros((groups, 1), int)], axis=1)
    tenths[:, 4] = tenths[:, :4].sum(axis=1)
    approx = np.zeros((groups, 5), bool)
    approx[:, 4] = rng.random(groups) < 0.1
    region = np.char.add("r", np.char.zfill((g % REGIONS).astype(str), 3))
    month = g // REGIONS
    first = int(month.min()) if groups else 0
    periods = np.array([f"{1900 + m // 12}-{m % 12 + 1:02d}" for m in range(first, int(month.max()) + 1 if groups
                                                                              else 0)])
    n = groups * 5
    obs = pl.DataFrame(
        {
            "region": np.repeat(region, 5),
            "period": np.repeat(periods[month - first], 5) if groups else np.array([], str),
            "segment": np.tile(np.array([*SEGMENTS, TOTAL]), groups),
            "tenths": tenths.reshape(-1),
            "approx": approx.reshape(-1),
            "source_id": np.array(["stats-yearbook", "survey-east", "survey-west"])[rng.integers(0, 3, n)],
            "attributed": rng.random(n) < 0.05,
            "based": rng.random(n) < 0.1,
        }
    )
    number = pl.concat_str((pl.col("tenths") // 10).cast(pl.Utf8), pl.lit("."), (pl.col("tenths") % 10).cast(pl.Utf8))
    printed = pl.concat_str(pl.when("approx").then(pl.lit("约")).otherwise(pl.lit("")), number, pl.lit("亿元"))
    label = pl.col("segment").replace_strict({**SEGMENTS, TOTAL: "地区生产总值"}, return_dtype=pl.Utf8)
    obs = obs.with_columns(printed=printed).select(
        figure_id=pl.concat_str("region", "period", "segment", separator="-"),
        entity_id="region",
        metric=pl.lit("gross_value_added"),
        segment="segment",
        base_period=pl.when("based").then(pl.col("period").str.slice(0, 4).cast(pl.Int64).sub(1).cast(pl.Utf8)),
        period="period",
        value=(pl.col("tenths") * 10).cast(pl.Utf8),
        printed="printed",
        qualifier=pl.when("approx").then(pl.lit("approx")).otherwise(pl.lit("exact")),
        is_forecast=pl.lit("false"),
        inferred=pl.lit("false"),
        inference_note=pl.lit(None, pl.Utf8),
        attributed_to=pl.when("attributed").then(pl.lit("r000")),
        source_id="source_id",
        quote=pl.concat_str(pl.col("period").str.replace("-", "年") + "月", pl.lit(","), label, pl.lit("为"),
                            pl.col("printed")),
        note=pl.lit(None, pl.Utf8),
    )
    if broken and n:
        obs = obs.with_columns(entity_id=pl.when(pl.int_range(pl.len()) == n - 1).then(pl.lit(DANGLING))
                               .otherwise("entity_id"))
    return obs


def figures(root: Path, rows: int, *, seed: int = SEED, broken: bool = False) -> dict:
    """Write the figure-table package with `rows` observations under `root`; returns facts about it.

    Each group (region, month) has four sector rows and their total; a sector is printed with one
    decimal in 亿元, one total in ten with 约 (approx); the quote holds the printed figure after a
    comma (so every quote is a quoted CSV cell). One row in twenty is attributed to another region,
    one in ten has a base period.
    """
    rng = np.random.default_rng(seed)
    groups = rows // 5
    n = groups * 5
    chunks = [(a, min(a + CHUNK_GROUPS, groups)) for a in range(0, groups, CHUNK_GROUPS)] or [(0, 0)]
    obs_parts = (_observations(rng, a, z, broken and z == groups, n) for a, z in chunks)
    names = [f"第{i:03d}区" for i in range(REGIONS)]
    regions = pl.DataFrame({"region_id": [f"r{i:03d}" for i in range(REGIONS)], "name_zh": names,
                            "source_id": ["stats-yearbook"] * REGIONS, "quote": [f"{x}统计" for x in names]})
    sources = pl.DataFrame({"source_id": ["stats-yearbook", "survey-east", "survey-west"],
                            "title_zh": ["统计年鉴摘要", "东部抽样调查", "西部抽样调查"],
                            "reported_in": [None, "stats-yearbook", "stats-yearbook"],
                            "quote": ["统计年鉴摘要", "东部抽样调查", "西部抽样调查"]})
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "schemas").mkdir(exist_ok=True)
    resources = []
    for (name, schema), frame in zip(_schemas().items(), (sources, regions, obs_parts), strict=True):
        csv = root / "resources" / f"{name}.csv"
        with open(csv, "wb") as fh:
            for k, part in enumerate([frame] if isinstance(frame, pl.DataFrame) else frame):
                part.write_csv(fh, line_terminator="\n", include_header=k == 0)
        _write_json(root / "schemas" / f"{name}.json", schema)
        sha, size = _digest(csv)
        resources.append({"name": name, "type": "table", "path": f"resources/{name}.csv", "format": "csv",
                          "mediatype": "text/csv", "encoding": "utf-8", "schema": f"schemas/{name}.json",
                          "hash": f"sha256:{sha}", "bytes": size})
    _write_json(root / "datapackage.json", {
        "$schema": V2,
        "name": f"bench-figures-{rows}",
        "title": f"Generated benchmark package ({rows:,} observations of the figure-table shape)",
        "version": "1.0.0",
        "licenses": [{"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}],
        "resources": resources,
    })
    return {"rows": n, "mib": sum(r["bytes"] for r in resources) / 2**20,
            "broken_line": n + 1 if broken and n else None}


# ------------------------------------------------------------------ the datasets/gdp shape


GDP_DESCRIPTOR = {  # the shape of datasets/gdp's datapackage.json (v1: no `$schema`), abridged
    "name": "gdp",
    "title": "Country, Regional and World GDP (Gross Domestic Product)",
    "description": "Generated stand-in with the shape of datasets/gdp (the World Bank's GDP in current USD).",
    "licenses": [{"name": "ODC-PDDL-1.0", "path": "http://opendatacommons.org/licenses/pddl/",
                  "title": "Open Data Commons Public Domain Dedication and License v1.0"}],
    "resources": [{
        "name": "gdp",
        "path": "data/gdp.csv",
        "schema": {"fields": [
            {"name": "Country Name", "type": "string"},
            {"name": "Country Code", "type": "string"},
            {"name": "Year", "type": "year"},
            {"description": "GDP in current USD", "name": "Value", "type": "number"},
        ]},
    }],
    "version": "2024",
}


def gdp(root: Path, rows: int, *, seed: int = SEED) -> dict:
    """Write the gdp-shaped package: 264 countries x 1960-2016, repeated (and cut) to `rows` rows."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    countries, years = 264, np.arange(1960, 2017)
    codes = ["".join(letters[rng.integers(0, 26, 3)]) for _ in range(countries)]
    names = [f"Country {i}, Rep." if i % 8 == 0 else f"Country {i} & Region" if i % 5 == 0 else f"Country {i}"
             for i in range(countries)]
    base = rng.lognormal(24, 2, countries)
    growth = rng.normal(0.06, 0.08, (countries, len(years))).cumsum(axis=1)
    value = (base[:, None] * np.exp(growth)).reshape(-1)
    one = pl.DataFrame({
        "Country Name": np.repeat(names, len(years)),
        "Country Code": np.repeat(codes, len(years)),
        "Year": np.tile(years, countries),
        "Value": value,
    }).with_columns(pl.col("Value").round(4))
    table = pl.concat([one] * (rows // one.height + 1)).head(rows)
    (root / "data").mkdir(parents=True, exist_ok=True)
    table.write_csv(root / "data" / "gdp.csv", line_terminator="\n")
    _write_json(root / "datapackage.json", GDP_DESCRIPTOR)
    return {"rows": table.height, "mib": (root / "data" / "gdp.csv").stat().st_size / 2**20}
