"""Reading a tabular resource into text columns: frictionless understands it, pyarrow reads it in bulk.

Why two libraries: frictionless-py is the reference reader of the standard (dialects, encodings,
compression, multipart paths, inline data, JSON, header rows and the row numbers it reports),
and this toolkit must accept what it accepts and locate what it reports. But it reads row by
row in Python. So frictionless opens the resource (a sample: encoding, dialect, labels, header
errors, an inferred schema), and a plain CSV is then read in bulk by pyarrow with the dialect
frictionless found; anything else streams through frictionless's own parser. Either way the
result is the same: one text column a field, each row's frictionless row number, and its line.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from cbj_figures import safeio
from cbj_figures.findings import Finding
from cbj_figures.package import Package, Resource
from cbj_figures.schema import Field, Schema, parse_schema

MAX_UNCOMPRESSED = 2 * 2**30  # what a compressed table may unpack to
UTF8 = ("utf-8", "utf_8", "utf8", "utf-8-sig", "utf_8_sig")


@dataclass
class RawTable:
    """A batch of a table's rows, its cells as written, one text column a field of the data (missing cells are
    null). A small table is one batch."""

    resource: Resource
    schema: Schema  # declared, or inferred by frictionless
    fields: list[Field | None]  # the schema field of each data column (None: a label the schema lacks)
    names: list[str]  # each data column's name (the field's, or the label's)
    text: pl.DataFrame
    rows: pl.Series  # frictionless row numbers (Int64; the header row is 1)
    lines: pl.Series | None  # physical first line of each row, when known
    widths: pl.Series | None  # cells each row had, when some row had more or fewer than the header
    natives: dict[str, dict[int, Any]] = field(default_factory=dict)  # non-text cells (JSON, inline data)
    header_rows: list[int] = field(default_factory=list)
    offset: int = 0  # the index of this batch's first row in the table

    @property
    def file(self) -> str | None:
        return self.resource.path


class Fallback(Exception):
    """The bulk reader met a row only the general path reads as frictionless does (a ragged row, bytes that are
    not UTF-8): the table is read again from its start by the general path."""


@dataclass
class TableSource:
    """An opened table: its header checked, its rows read in batches on demand (each call starts a new pass)."""

    resource: Resource
    schema: Schema
    fields: list[Field | None]
    names: list[str]
    header_rows: list[int]
    passes: list[Callable[[], Iterator[RawTable]]]  # the bulk reader first when it applies, then the general one
    lines_are_rows: Callable[[int], bool] | None = None  # general path: given the last row, is each row one line?

    @property
    def file(self) -> str | None:
        return self.resource.path

    def batches(self) -> Iterator[RawTable]:
        """Every batch, by the current reader. When the bulk reader gives way, Restart: the batches seen are void,
        and the next call reads the table again, by the general path."""
        try:
            yield from self.passes[0]()
        except Fallback:
            if len(self.passes) == 1:
                raise
            self.passes = self.passes[1:]
            raise Restart from None


class Restart(Exception):
    """Raised by `TableSource.batches` when the bulk reader gave way: batches already seen are void, and the next
    call of `batches()` reads with the general path from the first row."""


def _finding(code: str, message: str, res: Resource, **kw: Any) -> Finding:
    return Finding(code, message, file=res.path or res.descriptor.get("name"), layer="tables", **kw)


def read_table(pkg: Package, res: Resource, *, allow_network: bool = False) -> tuple[TableSource | None, list[Finding]]:
    """The opened table and the findings of opening it (its header's included); None when unreadable."""
    out: list[Finding] = []
    if res.urls and not allow_network:
        out.append(_finding("not-checked", f"remote data {res.urls[0]!r} was not fetched (pass --allow-network)", res))
        return None, out
    for rel in res.paths:
        try:
            path = safeio.inside(pkg.root, rel, what="data file")
        except FileNotFoundError:
            out.append(Finding("scheme-error", f"data file {rel!r} of table {res.name!r} not found", file=rel,
                               layer="tables"))
            return None, out
        except safeio.UnsafeInput as e:
            out.append(Finding(e.code, e.message, file=rel, layer="tables"))
            return None, out
        if res.compression == "zip" and (problem := _zip_problem(path)):
            out.append(Finding("too-large", problem, file=rel, layer="tables"))
            return None, out
    if (width := _header_width(pkg, res)) > safeio.MAX_COLUMNS:
        out.append(_finding("too-large", f"the header has {width:,} labels; the limit is {safeio.MAX_COLUMNS:,}: "
                            f"table {res.name!r} was not read", res, row=1, line=1))
        return None, out
    try:
        return _open(pkg, res, out)
    except Exception as e:  # frictionless raises its own exception for every way a source can fail
        out.append(reading_failure(pkg, res, e))
    return None, out


def _header_width(pkg: Package, res: Resource) -> int:
    """Labels in the first line of a CSV table (quotes respected; 0 when not a plain or gzipped CSV), counted
    before frictionless pairs each label with the schema (quadratic in the labels when they differ)."""
    import csv
    import gzip

    if res.format not in ("csv", "tsv") or not res.paths or res.compression not in (None, "gz"):
        return 0
    delimiter = res.dialect.get("delimiter") or ("\t" if res.format == "tsv" else ",")
    try:
        with safeio.open_inside(pkg.root, res.paths[0]) as fh:
            raw = gzip.GzipFile(fileobj=fh) if res.compression == "gz" else fh
            line = raw.readline(safeio.MAX_HEADER_BYTES).decode(res.encoding or "utf-8", "replace")
        quote = res.dialect.get("quoteChar") or '"'
        return len(next(csv.reader([line], delimiter=delimiter, quotechar=quote), []))
    except Exception:  # unreadable, not gzip, a bad dialect: frictionless reads it and reports what is wrong
        return 0


def reading_failure(pkg: Package, res: Resource, e: Exception) -> Finding:
    """The finding of a table that could not be read (when opened, or in the middle of its rows)."""
    if isinstance(e, safeio.UnsafeInput):
        return _finding(e.code, e.message, res)
    failure = _frictionless_failure(e, res)
    if failure.code == "encoding-error" and len(res.paths) == 1 and not res.compression:
        failure = _locate_encoding_error(pkg, res, failure)
    return failure


def _locate_encoding_error(pkg: Package, res: Resource, failure: Finding) -> Finding:
    """The line of the first byte the declared encoding (UTF-8 by default) cannot decode."""
    import codecs

    encoding = res.encoding or "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        with safeio.open_inside(pkg.root, res.paths[0]) as fh:
            line, offset = 1, 0
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    line += chunk.count(b"\n", 0, max(e.start, 0))
                    bad = chunk[e.start : e.start + 2].hex(" ")
                    message = f"not {encoding}: byte(s) {bad} on line {line} (save the file as {encoding})"
                    return replace(failure, message=message, line=line, row=None)
                line += chunk.count(b"\n")
                offset += len(chunk)
    except (LookupError, OSError, safeio.UnsafeInput):
        pass
    return failure


def _zip_problem(path: Any) -> str | None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as e:
        return f"not a zip archive: {e}"
    if total > MAX_UNCOMPRESSED:
        return f"the archive unpacks to {total:,} bytes; the limit is {MAX_UNCOMPRESSED:,}"
    return None


def _frictionless_failure(e: Exception, res: Resource) -> Finding:
    error = getattr(e, "error", None)
    kind = getattr(error, "type", None)
    if "requires unique labels in the header" in str(e):  # fieldsMatch by name, a label twice
        return _finding("duplicate-label", str(getattr(error, "note", None) or e), res, row=1, line=1)
    if kind in ("resource-error", "schema-error", "field-error", "dialect-error", "package-error"):
        message = f"table {res.name!r} was not read: its descriptor is not valid (the descriptor layer says why)"
        return _finding("not-checked", message, res)
    code = kind if kind in ("source-error", "format-error", "encoding-error", "scheme-error", "compression-error") \
        else "source-error"
    message = getattr(error, "message", None) or str(e) or type(e).__name__
    return _finding(code, message, res)


V2_RESOURCE = "https://datapackage.org/profiles/2.0/dataresource.json"


JSON_FORMATS = ("json", "jsonl", "ndjson")


def json_rows(pkg: Package, res: Resource) -> list[list[Any]] | None:
    """A JSON table as rows, the header first: an array of arrays as it is; objects (a JSON array of them, or
    JSON lines, or inline data) by their keys, in the order the keys first appear. JSON objects are unordered,
    so a cell is found by its key, never by its position (frictionless takes the first object's order)."""
    if res.data is not None:
        items = res.data
    elif res.format in JSON_FORMATS and res.paths and not res.urls and not res.compression:
        text = b"".join(safeio.read_inside(pkg.root, rel, limit=MAX_UNCOMPRESSED) for rel in res.paths).decode("utf-8")
        if res.format == "json":
            items = safeio.load_json(text, file=res.path)
        else:
            items = [safeio.load_json(line, file=res.path) for line in text.splitlines() if line.strip()]
    else:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or not items:
        return items if isinstance(items, list) else None
    keys: dict[str, None] = {}
    for item in items:
        keys.update(dict.fromkeys(item))
    schema_names = [n for n in (res.schema.names if res.schema else []) if n in keys]
    header = schema_names + [k for k in keys if k not in schema_names]  # keys the schema lacks come last
    return [header, *[[item.get(k) for k in header] for item in items]]


def frictionless_resource(
    res: Resource, schema: Schema | None, basepath: str, standard: str = "v2", rows: list | None = None
) -> Any:
    """The frictionless Resource of `res`: its data, format and dialect, with the schema as we parsed it,
    judged by the Data Package version of its package (`rows`: JSON data already read, as inline data)."""
    from frictionless import Resource as FrictionlessResource

    descriptor: dict[str, Any] = {"name": "table"}
    if standard != "v1":
        descriptor["$schema"] = V2_RESOURCE
    if rows is not None:
        descriptor["data"] = rows
    elif res.paths:
        descriptor["path"] = list(res.paths) if len(res.paths) > 1 else res.paths[0]
    elif res.urls:
        descriptor["path"] = list(res.urls) if len(res.urls) > 1 else res.urls[0]
    else:
        descriptor["data"] = res.data
    for key in ("format", "encoding", "compression", "innerpath", "mediatype"):
        if isinstance(res.descriptor.get(key), str) and rows is None:
            descriptor[key] = res.descriptor[key]
    if res.dialect:
        descriptor["dialect"] = res.dialect
    if schema is not None:
        descriptor["schema"] = schema_descriptor(schema)
    return FrictionlessResource(descriptor, basepath=basepath)


def schema_descriptor(schema: Schema) -> dict:
    """The schema as frictionless should see it to read the table: only the parts we parsed as well formed, and no
    constraints (reading needs none; the tables layer checks them, some of which frictionless refuses)."""
    fields = []
    for f in schema.fields:
        d = {k: v for k, v in f.descriptor.items() if k not in ("constraints",)}
        d["type"], d["format"] = f.type, f.format
        fields.append(d)
    out: dict[str, Any] = {"fields": fields, "missingValues": list(schema.missing_values)}
    if schema.fields_match != "exact":
        out["fieldsMatch"] = schema.fields_match
    return out


def _open(pkg: Package, res: Resource, out: list[Finding]) -> tuple[TableSource | None, list[Finding]]:
    terminator = res.dialect.get("lineTerminator")
    if isinstance(terminator, str) and terminator not in ("\r\n", "\n", "\r"):
        out.append(_finding("unsupported", f"lineTerminator {terminator!r} is not supported (only CRLF, LF and CR "
                            f"line ends): table {res.name!r} was not checked", res))
        return None, out
    try:
        rows = json_rows(pkg, res)
    except (ValueError, UnicodeDecodeError) as e:
        out.append(_finding("format-error", f"not valid JSON: {e}", res))
        return None, out
    declared = res.schema
    if declared is not None and (renamed := _renamed(declared)) is not declared:  # a name twice: v1 allowed it
        if pkg.standard != "v1":
            twice = sorted({f.name for f in declared.fields if declared.names.count(f.name) > 1})
            out.append(_finding("duplicate-field-name", f"the schema names {', '.join(map(repr, twice))} more than "
                                "once (v2: names MUST be unique); the table is checked, the repeat named "
                                f"{renamed.fields[[f.name for f in renamed.fields].index(twice[0] + ' (2)')].name!r}",
                                res, field=twice[0]))
        res = replace(res, schema=renamed)
    fres = frictionless_resource(res, res.schema, str(pkg.root), pkg.standard, rows)
    with fres:
        if not fres.labels and not fres.fragment:
            out.append(_finding("source-error", f"table {res.name!r} is empty: it has neither a header nor rows", res))
            return None, out
        schema = res.schema
        if schema is None:
            schema, found = parse_schema(fres.schema.to_descriptor(), res.path or res.name)
            if schema is None:
                out += found
                return None, out
            schema = replace(schema, inferred=True)
            out.append(_finding("schema-inferred", f"table {res.name!r} has no schema; its types were inferred "
                                f"from its first rows: {', '.join(f'{f.name}: {f.type}' for f in schema.fields)}",
                                res))
        if res.encoding is None and res.paths and (fres.encoding or "utf-8").lower() not in UTF8:
            out.append(_finding("not-checked", f"the encoding of {res.path!r} is not declared; it was read as "
                                f"{fres.encoding}, as frictionless detects it (the standard's default is UTF-8)", res))
        header = _header(fres)
        errors = header.errors if declared is res.schema or declared is None else _header(fres, declared).errors
        out += [_header_finding(e, res) for e in errors]
        if fres.dialect.header and header.missing and fres.fragment:  # frictionless 5 skips its own check then
            row = (header.row_numbers or [1])[0]
            out.append(_finding("blank-header", "the header row is empty: no label names a column", res, row=row))
        try:
            expected = header.get_expected_fields()
        except Exception as e:  # fieldsMatch by name with a label twice: the pairing is ambiguous
            row = (header.row_numbers or [1])[0]
            out.append(_finding("duplicate-label", f"{getattr(e, 'note', None) or e}", res, row=row, line=row))
            return None, out
        declared = {id(f) for f in header.fields}  # the others stand for labels the schema lacks
        fields = [schema.field(f.name) if id(f) in declared else None for f in expected]
        names = [f.name for f in expected]
        header_rows = list(fres.dialect.header_rows) if fres.dialect.header else []
        plan = _bulk_plan(pkg, res, fres)
        detected = fres.dialect.to_descriptor() if res.format in ("csv", "tsv") and not res.dialect else None
    meta = RawTable(res, schema, fields, names, pl.DataFrame(), pl.Series(), None, None, {}, header_rows)

    def general() -> Iterator[RawTable]:
        # the dialect frictionless detected, declared: Python's csv.Sniffer is not run over the sample again
        again = frictionless_resource(replace(res, dialect=detected) if detected else res, res.schema, str(pkg.root),
                                      pkg.standard, rows)
        with again:
            yield from _general_batches(again, meta, capped=bool(res.compression or res.urls))

    passes: list[Callable[[], Iterator[RawTable]]] = [general]
    if plan is not None:
        path = safeio.inside(pkg.root, res.paths[0], what="data file")
        passes.insert(0, lambda: _bulk_batches(path, plan, meta))
    source = TableSource(res, schema, fields, names, header_rows, passes, _lines_are_rows(pkg, res))
    return source, out


def _renamed(schema: Schema) -> Schema:
    """The schema with each repeated field name made unique (`a`, `a (2)`), for reading (frictionless refuses
    repeated names); the schema itself when no name repeats."""
    seen: dict[str, int] = {}
    fields = []
    for f in schema.fields:
        seen[f.name] = seen.get(f.name, 0) + 1
        name = f.name if seen[f.name] == 1 else f"{f.name} ({seen[f.name]})"
        fields.append(f if name == f.name else replace(f, name=name, descriptor={**f.descriptor, "name": name}))
    return schema if all(n == 1 for n in seen.values()) else replace(schema, fields=tuple(fields))


def _header(fres: Any, declared: Schema | None = None) -> Any:
    """frictionless's header, except for several header rows: there a label missing from an upper row is the one
    to its left (a merged cell), as the Table Dialect spec's own example reads `fruit` over `id,name`. With
    `declared` (a schema whose names repeat), the header checked against its own names."""
    from frictionless.table import Header

    rows = list(fres.dialect.header_rows) if fres.dialect.header else []
    labels = list(fres.labels)
    if len(rows) >= 2 and max(rows) <= len(fres.sample):
        table = [list(fres.sample[r - 1]) for r in rows]
        width = max(len(r) for r in table)
        for cells in table[:-1]:
            cells += [""] * (width - len(cells))
            for k in range(1, width):
                if not str(cells[k] or "").strip():
                    cells[k] = cells[k - 1]
        join = fres.dialect.header_join
        labels = [join.join(str(r[k]).strip() for r in table if k < len(r) and str(r[k] or "").strip()).strip()
                  for k in range(width)]
    if labels == list(fres.labels) and declared is None:
        return fres.header
    fields = list(fres.schema.fields)
    if declared is not None:
        from frictionless import Field as FrictionlessField

        fields = [FrictionlessField.from_descriptor({"name": f.name, "type": f.type}) for f in declared.fields]
    return Header(labels, fields=fields, row_numbers=rows or [1],
                  ignore_case=not fres.dialect.header_case, fields_match=fres.schema.fields_match)


def _header_finding(error: Any, res: Resource) -> Finding:
    from cbj_figures.findings import CODES

    rows = getattr(error, "row_numbers", None) or [1]
    label = getattr(error, "label", None)
    field_name = getattr(error, "field_name", None) or label
    message = error.message if hasattr(error, "message") else str(error)
    code = error.type if error.type in CODES else "format-error"
    return _finding(code, message, res, row=rows[0], line=rows[0], field=field_name)


# ---------------------------------------------------------------- the bulk path (pyarrow)


@dataclass(frozen=True)
class _CsvPlan:
    delimiter: str
    quote_char: str | None


def _bulk_plan(pkg: Package, res: Resource, fres: Any) -> _CsvPlan | None:
    """The dialect for pyarrow when the table is a plain CSV it reads exactly as frictionless would; else None."""
    dialect = fres.dialect
    if res.format not in ("csv", "tsv") or len(res.paths) != 1 or res.compression:
        return None
    if (fres.encoding or "utf-8").lower() not in ("utf-8", "utf_8", "utf8"):  # a BOM (utf-8-sig) too
        return None
    if not dialect.header or list(dialect.header_rows) != [1] or dialect.comment_char or dialect.comment_rows:
        return None
    control = dialect.get_control("csv")
    if control is None:
        from frictionless.formats import CsvControl

        control = CsvControl()
    if control.skip_initial_space or len(control.delimiter) != 1 or len(control.quote_char or "x") != 1:
        return None
    if control.escape_char or not control.double_quote:
        return None
    return _CsvPlan(control.delimiter, control.quote_char or None)


BATCH_BYTES = int(os.environ.get("CBJ_FIGURES_BATCH_BYTES", 8 * 2**20))  # the text a batch holds (pyarrow: its block)


def _bulk_batches(path: Any, plan: _CsvPlan, meta: RawTable, block: int | None = None) -> Iterator[RawTable]:
    """Batches of a plain CSV read by pyarrow's streaming reader (it parses the next block while the last one is
    checked, letting go of the GIL). The header is read as the first record, so that its lines are counted too.
    A row the general path must read (a ragged row, CR-only line ends, bytes not UTF-8) raises Fallback.
    A stray quote (`a"b`, `"b"c`, `z"`) needs no detour: pyarrow splits it as Python's csv module does
    (tests/corpus/stray-quotes)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if b"\r" in head and b"\n" not in head:  # CR line ends: Python's csv module reads them, pyarrow may not alike
        raise Fallback
    names = meta.names
    cols = [f"c{i}" for i in range(len(names))]
    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row.number)
        return "skip"

    reader = _open_csv(path, plan, cols, on_invalid, block or BATCH_BYTES)
    if reader is None:
        raise Fallback
    offset, line, first = 0, 1, True
    for batch in _prefetched(reader):
        if invalid:
            raise Fallback
        frame = pl.DataFrame(batch)
        if first:  # the header record
            line += int(_line_breaks(frame.head(1))[0]) + 1 if frame.height else 1
            frame, first = frame.slice(1), False
        if not frame.height:
            continue
        frame = frame.rename(dict(zip(cols, names, strict=True)))
        rows = pl.int_range(offset + 2, offset + 2 + frame.height, eager=True, dtype=pl.Int64).alias("row")
        breaks = _line_breaks(frame)
        lines = (breaks + 1).cum_sum().shift(1, fill_value=0) + line
        line = int(lines[-1]) + int(breaks[-1]) + 1
        yield replace(meta, text=frame, rows=rows, lines=lines.alias("line"), offset=offset)
        offset += frame.height
    if invalid:
        raise Fallback
    if not offset:  # a header and no rows: one empty batch, with its columns
        empty = pl.DataFrame(schema=dict.fromkeys(names, pl.Utf8))
        yield replace(meta, text=empty, rows=pl.Series("row", [], dtype=pl.Int64),
                      lines=pl.Series("line", [], dtype=pl.Int64))


def _line_breaks(frame: pl.DataFrame) -> pl.Series:
    """Line breaks inside each row's cells, as Python's csv module counts lines (CRLF, LF or CR each one)."""
    if not frame.width:
        return pl.Series([0] * frame.height, dtype=pl.Int64)
    spans = frame.select(pl.any_horizontal(pl.all().str.contains(r"[\r\n]"))).to_series()
    if not spans.any():
        return pl.Series([0] * frame.height, dtype=pl.Int64)
    counts = frame.select(pl.sum_horizontal(pl.all().str.count_matches(r"\r\n|\r|\n").fill_null(0)))
    return counts.to_series().cast(pl.Int64)


def _prefetched(reader: Any) -> Iterator[Any]:
    """The reader's batches, the next one read in a thread while the caller works on the last one; a failure
    of pyarrow mid-file (bytes that are not UTF-8) is a Fallback."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    def next_batch() -> Any:
        try:
            return reader.read_next_batch()
        except StopIteration:
            return None
        except (pa.ArrowInvalid, pa.ArrowException) as e:
            return e

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next_batch)
        try:
            while True:
                batch = pending.result()
                if batch is None:
                    return
                if isinstance(batch, Exception):
                    raise Fallback from batch
                pending = pool.submit(next_batch)
                yield batch
        finally:
            pending.cancel()
            reader.close()


def _open_csv(path: Any, plan: _CsvPlan, cols: list[str], on_invalid: Callable[[Any], str], block: int) -> Any:
    """pyarrow's streaming reader of every cell as text; None when pyarrow refuses the file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=cols, use_threads=True, encoding="utf8", block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=plan.delimiter, quote_char=plan.quote_char or False, double_quote=True,
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(cols, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):  # not UTF-8, ...: the general path says what
        return None


def _line_ends(path: Any) -> tuple[int, bool]:
    """Line feeds, and whether lines end with a bare CR: one streamed pass over the bytes."""
    newlines, cr = 0, False
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            newlines += chunk.count(b"\n")
            cr = cr or b"\r" in chunk
    return newlines, cr and newlines == 0


def _lines_are_rows(pkg: Package, res: Resource) -> Callable[[int], bool] | None:
    """For a CSV read by the general path: whether each row is one line, given the last row number (one streamed
    pass over the bytes counts the line ends)."""
    if res.format not in ("csv", "tsv") or len(res.paths) != 1 or res.compression:
        return None

    def check(last: int) -> bool:
        try:
            newlines, cr_only = _line_ends(safeio.inside(pkg.root, res.paths[0]))
        except (OSError, safeio.UnsafeInput):
            return False
        return newlines in (last, last - 1) and not cr_only

    return check


# ---------------------------------------------------------------- the general path (frictionless's parser)


def _lexical(value: Any) -> str:
    """A JSON or inline value as text, for the columns (the value itself is kept in `natives`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


GENERAL_ROWS = 100_000  # rows a batch of the general path holds at most


def _general_batches(fres: Any, meta: RawTable, *, capped: bool) -> Iterator[RawTable]:
    """Every row through frictionless's parser, in batches: text columns, row numbers, widths, non-text cells.
    A compressed or remote table is capped at MAX_UNCOMPRESSED bytes of text (a decompression bomb)."""
    names = meta.names
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    rows: list[int] = []
    widths: list[int] = []
    natives: dict[str, dict[int, Any]] = {}
    size = total = offset = 0

    def batch() -> RawTable:
        text = pl.DataFrame({n: pl.Series(n, c, dtype=pl.Utf8) for n, c in zip(names, columns, strict=True)})
        width_series = pl.Series("width", widths, dtype=pl.Int64) if any(w != width for w in widths) else None
        return replace(meta, text=text, rows=pl.Series("row", rows, dtype=pl.Int64), lines=None, widths=width_series,
                       natives=natives, offset=offset)

    for number, cells in fres.dialect.read_enumerated_content_stream(fres.cell_stream):
        i = len(rows)
        rows.append(number)
        widths.append(len(cells))
        for k in range(width):
            cell = cells[k] if k < len(cells) else None
            if cell is None or isinstance(cell, str):
                columns[k].append(cell)
                size += len(cell) if cell else 0
            else:
                columns[k].append(_lexical(cell))
                natives.setdefault(names[k], {})[i] = cell
        if capped and total + size > MAX_UNCOMPRESSED:
            raise safeio.UnsafeInput("too-large", f"the table's cells exceed {MAX_UNCOMPRESSED:,} bytes of text")
        if size >= BATCH_BYTES or len(rows) >= GENERAL_ROWS:
            yield batch()
            offset += len(rows)
            total += size
            columns, rows, widths, natives, size = [[] for _ in range(width)], [], [], {}, 0
    if rows or not offset:
        yield batch()
