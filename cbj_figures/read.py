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

import zipfile
from collections.abc import Callable
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
    """A table's cells as written, one text column a field of the data (missing cells are null)."""

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

    @property
    def file(self) -> str | None:
        return self.resource.path


def _finding(code: str, message: str, res: Resource, **kw: Any) -> Finding:
    return Finding(code, message, file=res.path or res.descriptor.get("name"), layer="tables", **kw)


def read_table(pkg: Package, res: Resource, *, allow_network: bool = False) -> tuple[RawTable | None, list[Finding]]:
    """The table's text columns and the findings of reading it (its header's included); None when unreadable."""
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
    try:
        return _read(pkg, res, out)
    except safeio.UnsafeInput as e:
        out.append(_finding(e.code, e.message, res))
    except Exception as e:  # frictionless raises its own exception for every way a source can fail
        failure = _frictionless_failure(e, res)
        if failure.code == "encoding-error" and len(res.paths) == 1 and not res.compression:
            failure = _locate_encoding_error(pkg, res, failure)
        out.append(failure)
    return None, out


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


# Constraints the standard allows but frictionless refuses (its reader would not open the table); tables.py
# checks them itself.
_NOT_FOR_FRICTIONLESS = {"duration": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
                         "object": ("jsonSchema",), "array": ("jsonSchema",)}


def schema_descriptor(schema: Schema) -> dict:
    """The schema as frictionless should see it to read the table: only the parts we parsed as well formed."""
    fields = []
    for f in schema.fields:
        d = {k: v for k, v in f.descriptor.items() if k not in ("constraints",)}
        d["type"], d["format"] = f.type, f.format
        kept = {k: v for k, v in f.constraints.items() if k not in _NOT_FOR_FRICTIONLESS.get(f.type, ())}
        if kept:
            d["constraints"] = kept
        fields.append(d)
    out: dict[str, Any] = {"fields": fields, "missingValues": list(schema.missing_values)}
    if schema.fields_match != "exact":
        out["fieldsMatch"] = schema.fields_match
    return out


def _read(pkg: Package, res: Resource, out: list[Finding]) -> tuple[RawTable | None, list[Finding]]:
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
        out += [_header_finding(e, res) for e in header.errors]
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
        fast = _bulk_plan(pkg, res, fres)
        if fast is not None:
            table = _read_bulk(pkg, res, fast, names)
            if table is not None:
                text, rows, lines = table
                return RawTable(res, schema, fields, names, text, rows, lines, None, {}, header_rows), out
        columns, rows, widths, natives = _read_cells(fres, names)
    text = pl.DataFrame({n: pl.Series(n, c, dtype=pl.Utf8) for n, c in zip(names, columns, strict=True)})
    row_series = pl.Series("row", rows, dtype=pl.Int64)
    width_series = pl.Series("width", widths, dtype=pl.Int64) if any(w != len(names) for w in widths) else None
    lines = _lines_if_one_per_row(pkg, res, row_series)
    raw = RawTable(res, schema, fields, names, text, row_series, lines, width_series, natives, header_rows)
    return raw, out


def _header(fres: Any) -> Any:
    """frictionless's header, except for several header rows: there a label missing from an upper row is the one
    to its left (a merged cell), as the Table Dialect spec's own example reads `fruit` over `id,name`."""
    rows = list(fres.dialect.header_rows) if fres.dialect.header else []
    if len(rows) < 2 or max(rows) > len(fres.sample):
        return fres.header
    from frictionless.table import Header

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
    if labels == list(fres.labels):
        return fres.header
    return Header(labels, fields=list(fres.schema.fields), row_numbers=rows,
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


def _read_bulk(pkg: Package, res: Resource, plan: _CsvPlan, names: list[str]) -> Any:
    """(text, rows, lines) of a plain CSV read by pyarrow (multi-threaded), or None when it has a row the
    general path must read (a ragged row, CR line ends): frictionless's parser then reads and reports them.
    A stray quote (`a"b`, `"b"c`, `z"`) needs no detour: pyarrow splits it as Python's csv module does
    (tests/corpus/stray-quotes)."""
    from concurrent.futures import ThreadPoolExecutor

    path = safeio.inside(pkg.root, res.paths[0], what="data file")
    cols = [f"c{i}" for i in range(len(names))]
    invalid: list[int] = []

    def on_invalid(row: Any) -> str:
        invalid.append(row.number)
        return "skip"

    with ThreadPoolExecutor(max_workers=1) as pool:  # the line ends are counted while pyarrow parses
        line_ends = pool.submit(_line_ends, path)
        table = _parse(path, plan, cols, on_invalid)
        newlines, cr_only = line_ends.result()
    if table is None or cr_only or invalid:
        return None
    # Two columns at a time (polars converts them in parallel), each in one chunk, the Arrow columns let go
    # once converted: a frame of pyarrow's many chunks beside columns of one chunk (the typed ones) is
    # re-chunked whole by polars at its first query, a copy of every column.
    parts = []
    while table.num_columns:
        taken = table.column_names[:2]
        parts.append(pl.DataFrame(table.select(taken)).rechunk())
        table = table.drop_columns(taken)
    del table
    frame = pl.concat(parts, how="horizontal") if parts else pl.DataFrame()
    frame = frame.rename(dict(zip(cols, names, strict=True))) if frame.width else pl.DataFrame(
        schema=dict.fromkeys(names, pl.Utf8))
    rows = pl.int_range(2, frame.height + 2, eager=True, dtype=pl.Int64).alias("row")
    if newlines in (frame.height + 1, frame.height):  # one line a record: the line is the row
        return frame, rows, rows.alias("line")
    return frame, rows, _scan_lines(path, plan, frame.height)


def _parse(path: Any, plan: _CsvPlan, cols: list[str], on_invalid: Callable[[Any], str]) -> Any:
    """Every cell as text, by pyarrow (multi-threaded, letting go of the GIL); None when pyarrow refuses the file."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=cols, skip_rows=1, use_threads=True, encoding="utf8"),
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


def _scan_lines(path: Any, plan: _CsvPlan, n: int) -> pl.Series | None:
    """The first physical line of each record (values span lines here), by Python's csv module."""
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=plan.delimiter, quotechar=plan.quote_char)
        starts, prev = [], 0
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
    starts = starts[1:]
    return pl.Series("line", starts, dtype=pl.Int64) if len(starts) == n else None


def _lines_if_one_per_row(pkg: Package, res: Resource, rows: pl.Series) -> pl.Series | None:
    """For a CSV read row by row: its rows are its lines when no record spans lines."""
    if res.format not in ("csv", "tsv") or len(res.paths) != 1 or res.compression or not len(rows):
        return None
    try:
        newlines, cr_only = _line_ends(safeio.inside(pkg.root, res.paths[0]))
    except (OSError, safeio.UnsafeInput):
        return None
    last = int(rows[-1])
    return rows.alias("line") if newlines in (last, last - 1) and not cr_only else None


# ---------------------------------------------------------------- the general path (frictionless's parser)


def _lexical(value: Any) -> str:
    """A JSON or inline value as text, for the columns (the value itself is kept in `natives`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _read_cells(fres: Any, names: list[str]) -> tuple[list[list[str | None]], list[int], list[int], dict]:
    """Every row through frictionless's parser: text columns, row numbers, widths, non-text cells."""
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    rows: list[int] = []
    widths: list[int] = []
    natives: dict[str, dict[int, Any]] = {}
    size = 0
    for i, (number, cells) in enumerate(fres.dialect.read_enumerated_content_stream(fres.cell_stream)):
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
        if size > MAX_UNCOMPRESSED:
            raise safeio.UnsafeInput("too-large", f"the table's cells exceed {MAX_UNCOMPRESSED:,} bytes of text")
    return columns, rows, widths, natives

