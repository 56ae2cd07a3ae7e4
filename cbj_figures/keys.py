"""The key sets of the tables layer: what uniqueness and foreign keys must remember across batches.

Why: every other check of a row needs only its batch; a repeated key or a dangling reference needs
every row before it. Memory here grows with the keys, not with the rows' text:

- uniqueness (a `unique` field, the primary key, each of `uniqueKeys`) keeps one 64-bit hash a row.
  Sorted once at the end, equal neighbours are the candidates (a repeat, or a rare collision); the
  rows of those hashes are read again and compared by value (`Repeats`), so a collision costs time,
  never a wrong finding. A valid table needs no second pass.
- a foreign key keeps the distinct values of the referenced fields (`KeySet`), then checks each
  batch of the referencing table against them; a table that references itself or a table read later
  keeps its own key values (`Pending`) and is checked at the end.

Past `KEY_MEMORY` bytes a store spills to DuckDB (out of core: a memory limit, a temporary folder it
writes to and this module removes), whose aggregates and joins spill to disk in turn.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

KEY_MEMORY = int(os.environ.get("CBJ_FIGURES_KEY_MEMORY", 512 * 2**20))  # bytes of key sets in memory, then DuckDB
DUCKDB_MEMORY = os.environ.get("CBJ_FIGURES_DUCKDB_MEMORY", "512MB")  # DuckDB's own limit while it holds them
SPILL_LIMIT = os.environ.get("CBJ_FIGURES_SPILL_LIMIT")  # at most this much on disk (DuckDB's default: 90% free)


class SpillError(Exception):
    """DuckDB could not hold a spilled key set (the disk filled, the temporary folder is not writable)."""


class Spill:
    """One DuckDB database in a temporary folder for the key sets that do not fit in memory; `close` removes it."""

    def __init__(self) -> None:
        self._con: Any = None
        self._dir: str | None = None
        self._n = 0

    @property
    def con(self) -> Any:
        if self._con is None:
            import duckdb

            self._dir = tempfile.mkdtemp(prefix="cbj-figures-keys-")
            try:
                config = {"memory_limit": DUCKDB_MEMORY, "temp_directory": self._dir,
                          "preserve_insertion_order": False, "threads": os.cpu_count() or 1}
                if SPILL_LIMIT:
                    config["max_temp_directory_size"] = SPILL_LIMIT
                self._con = duckdb.connect(":memory:", config=config)  # its blocks past the limit go to the folder
            except duckdb.Error as e:
                raise SpillError(f"cannot open a spill database in {self._dir}: {e}") from None
        return self._con

    def table(self, frame: pl.DataFrame) -> str:
        """A new spilled table holding `frame` (its columns named as they are)."""
        self._n += 1
        name = f"t{self._n}"
        self.run(f"CREATE TABLE {name} AS SELECT * FROM frame", frame=frame)
        return name

    def run(self, sql: str, **frames: pl.DataFrame) -> dict[str, np.ndarray]:
        """Run `sql`, the frames visible by their names, and fetch its result (columns as arrays); a full disk
        or a refused write is a SpillError."""
        import duckdb

        con = self.con
        try:
            for name, frame in frames.items():
                con.register(name, frame.to_arrow())
            result = con.execute(sql)
            fetched = result.fetchnumpy() if result.description else {}
            for name in frames:
                con.unregister(name)
            return fetched
        except duckdb.Error as e:
            first = str(e).splitlines()[0]
            raise SpillError(f"spilling key sets to {self._dir} failed: {first}") from None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Values that compare equal hash alike: -0.0 as 0.0, every NaN as one NaN."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if not floats:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).is_nan()).then(pl.lit(float("nan"))).otherwise(pl.col(c) + 0.0).alias(c) for c in floats)


def row_hashes(frame: pl.DataFrame) -> np.ndarray:
    frame = canonical(frame)
    series = frame.to_series().hash(seed=0) if frame.width == 1 else frame.hash_rows(seed=0)
    return series.to_numpy()


@dataclass
class Repeats:
    """One uniqueness rule over every row: the hash of each included row, by batch."""

    fields: tuple[str, ...]
    code: str  # unique-error or primary-key
    rule: str  # unique, primaryKey, uniqueKeys
    also: tuple[tuple[str, str], ...] = ()  # (code, rule) of another rule over the same rows (a unique primary key)
    hashes: list[np.ndarray] = field(default_factory=list)
    indices: list[np.ndarray | int] = field(default_factory=list)  # global indices of the hashed rows (an int: from
    # there on, every row of the batch)
    spilled: str | None = None
    nbytes: int = 0

    @property
    def label(self) -> str:
        return ",".join(self.fields)

    def add(self, frame: pl.DataFrame, include: pl.Series, offset: int, spill: Spill) -> None:
        every = bool(include.all())
        rows = frame.select(self.fields) if every else frame.select(self.fields).filter(include)
        if not rows.height:
            return
        index: np.ndarray | int = offset if every else \
            np.flatnonzero(include.fill_null(False).to_numpy()).astype(np.int64) + offset
        hashes = row_hashes(rows)
        size = hashes.nbytes + (0 if every else hashes.nbytes)
        if self.spilled is None and self.nbytes + size > KEY_MEMORY:
            self.spilled = spill.table(pl.DataFrame({"h": np.empty(0, np.uint64), "i": np.empty(0, np.int64)}))
            for h, i in zip(self.hashes, self.indices, strict=True):
                self._insert(spill, h, i)
            self.hashes, self.indices = [], []
        if self.spilled is not None:
            self._insert(spill, hashes, index)
            return
        self.hashes.append(hashes)
        self.indices.append(index)
        self.nbytes += size

    def _insert(self, spill: Spill, hashes: np.ndarray, index: np.ndarray | int) -> None:
        spill.run(f"INSERT INTO {self.spilled} SELECT * FROM batch",
                  batch=pl.DataFrame({"h": hashes, "i": _indices(index, len(hashes))}))

    def candidates(self, spill: Spill) -> np.ndarray:
        """Global indices of the rows whose hash another row shares, in order (empty: no key repeats)."""
        if self.spilled is not None:
            found = spill.run(f"SELECT i FROM {self.spilled} WHERE h IN "
                              f"(SELECT h FROM {self.spilled} GROUP BY h HAVING count(*) > 1) ORDER BY i")
            return np.asarray(found["i"], dtype=np.int64)
        if not self.hashes:
            return np.empty(0, np.int64)
        ordered = np.concatenate(self.hashes)
        ordered.sort()
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        if not len(repeated):
            return np.empty(0, np.int64)
        return np.concatenate([_indices(i, len(h))[np.isin(h, repeated)]
                               for h, i in zip(self.hashes, self.indices, strict=True)])


def _indices(index: np.ndarray | int, n: int) -> np.ndarray:
    return np.arange(index, index + n, dtype=np.int64) if isinstance(index, int) else index


@dataclass
class KeySet:
    """The distinct values of the fields a foreign key references (all empty: not a key)."""

    fields: tuple[str, ...]
    parts: list[pl.DataFrame] = field(default_factory=list)
    spilled: str | None = None
    nbytes: int = 0
    done: bool = False
    values: pl.DataFrame | None = None

    def add(self, frame: pl.DataFrame, spill: Spill) -> None:
        keys = frame.select(self.fields).filter(~pl.all_horizontal(pl.all().is_null())).unique()
        if self.spilled is None and self.nbytes + keys.estimated_size() > KEY_MEMORY:
            self.spilled = spill.table(pl.concat([*self.parts, keys]) if self.parts else keys)
            self.parts = []
            return
        if self.spilled is not None:
            spill.run(f"INSERT INTO {self.spilled} SELECT * FROM batch", batch=keys)
            return
        self.parts.append(keys)
        self.nbytes += keys.estimated_size()

    def finish(self) -> None:
        if self.spilled is None:
            self.values = pl.concat(self.parts).unique() if self.parts else None
            self.parts = []
        self.done = True

    def dangling(self, child: pl.DataFrame, spill: Spill) -> list[int]:
        """Indices of `child`'s rows (columns named as the referenced fields) whose key is not in the set; a key
        all empty is not checked."""
        cols = list(self.fields)
        if self.spilled is not None:
            on = " AND ".join(f'c."{k}" IS NOT DISTINCT FROM p."{k}"' for k in cols)
            checked = child.with_row_index("_i").filter(~pl.all_horizontal(pl.col(cols).is_null()))
            sql = f"SELECT c._i FROM checked c ANTI JOIN {self.spilled} p ON {on} ORDER BY c._i"
            return [int(i) for i in spill.run(sql, checked=checked)["_i"]]
        keys = self.values if self.values is not None else pl.DataFrame(schema=child.schema)
        for r in cols:
            a, b = child[r].dtype, keys[r].dtype
            if a != b:
                common = pl.Float64 if a.is_numeric() and b.is_numeric() else None
                child = child.with_columns(pl.col(r).cast(common) if common else pl.lit(None, dtype=b).alias(r))
                keys = keys.with_columns(pl.col(r).cast(common or b))
        if len(cols) == 1 and not child.dtypes[0].is_float():  # a mask: no copy of the child's keys
            column = child.to_series()
            return (column.is_not_null() & ~column.is_in(keys.to_series().implode())).arg_true().to_list()
        child = child.with_row_index("_i")
        checked = child.filter(~pl.all_horizontal(pl.col(cols).is_null()))
        return checked.join(keys, on=cols, how="anti", nulls_equal=True)["_i"].sort().to_list()
