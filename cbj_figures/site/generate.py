"""`cbj-figures site`: a static site generated from the package (plain HTML, CSS and SVG).

Why static: it opens from `file://` and any static host (GitHub Pages), needs no server and no CDN,
and can be rebuilt byte for byte. Everything comes from one validation run (`validate_run`) and the
package's own declarations (`site.yaml`). Templates are Jinja with autoescape on: package text is
escaped wherever it lands; the only markup inserted as is has been made safe first (SVG checked by
charts.check_svg, GE pages sanitized by gedocs, Markdown rendered with raw HTML off).

Writes go only under `--out`: the site is built in a staging folder inside it and moved into place at
the end; a folder that holds anything but an earlier site is refused, never emptied.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from cbj_figures import escape
from cbj_figures.package import open_package
from cbj_figures.safeio import output_folder
from cbj_figures.site.config import SiteError, load_config
from cbj_figures.site.model import SiteModel, cells_of, collect, read_page, slug

MARKER = ".cbj-figures-site"  # names a folder as a site this command wrote (and may replace)
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_LETTER = re.compile(r"[A-Za-z]")
NUMERIC = ("number", "integer")


def lang(value: Any) -> str:
    """`zh-Hans` for text that is mostly Chinese, else `en` (a mixed English sentence naming 基流科技 stays en)."""
    text = "" if value is None else str(value)
    cjk, latin = len(_CJK.findall(text)), len(_LETTER.findall(text))
    return "zh-Hans" if cjk and cjk * 2 >= latin else "en"


def split_title(text: Any) -> list[str]:
    """`English / 中文` titles as their parts, so each gets its own lang."""
    return [p.strip() for p in str(text or "").split(" / ") if p.strip()]


def _markdown(text: str | None) -> Markup:
    """Markdown (the changelog) as HTML: raw HTML off (escaped), links validated by markdown-it, unseen
    characters shown as escapes, and an image rendered as a link to it: a page loads nothing remote."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.add_render_rule("image", _image_as_link)
    return Markup(md.render(escape.visible(text or "", keep="\n\t")))


def _image_as_link(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or token.attrGet("src") or "image"
    return f'<a class="image-link" href="{escape.html(token.attrGet("src") or "")}">{escape.html(alt)}</a>'


def _finalize(value: Any) -> Any:
    """Every value a template prints: its unseen characters shown as escapes (autoescape does the rest);
    markup made safe before (SVG, sanitized Data Docs, rendered Markdown) is left as it is."""
    return value if value is None or isinstance(value, Markup | int | float) else escape.visible(value)


# Attributes that make a browser load what they name; `href` loads only on these tags (on `a` it is a link).
_LOADING = {"src", "srcset", "poster", "data", "background", "xlink:href"}
_HREF_LOADS = {"link", "image", "use", "feimage", "script"}
_REMOTE = re.compile(r"^\s*(?://|[a-z][a-z0-9+.-]*:)", re.IGNORECASE)
_CSS_URL = re.compile(r"(?:url\(|@import)\s*['\"]?\s*(?://|[a-z][a-z0-9+.-]*:)", re.IGNORECASE)


def remote_loads(html: str) -> list[str]:
    """What a page would load from elsewhere (a remote `src`, stylesheet, CSS `url()`, refresh): a site that
    needs no server loads nothing remote, so `site` refuses a page with any (none is expected)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Scan(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                value = value or ""
                loads = name in _LOADING or (name == "href" and tag in _HREF_LOADS)
                if loads and _REMOTE.match(value) and not value.strip().lower().startswith("data:"):
                    found.append(f"<{tag} {name}={value!r}>")
                elif name == "style" and _CSS_URL.search(value):
                    found.append(f"<{tag} style={value!r}>")
                elif tag == "meta" and name == "http-equiv" and value.lower() == "refresh":
                    found.append("<meta http-equiv=refresh>")

        def handle_data(self, data: str) -> None:
            if self.lasttag == "style" and _CSS_URL.search(data):
                found.append("<style> url()")

    Scan(convert_charrefs=True).feed(html)
    return found


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cbj_figures.site", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(lang=lang, slug=slug, split_title=split_title, markdown=_markdown, shown=_shown)
    return env


# ---------------------------------------------------------------- where the site goes


def _check_out(root: Path, out: Path) -> None:
    if str(out).strip() == "":
        raise SiteError("--out must name a folder")
    output_folder(out, package=root)  # created; no symlink from its root (the working folder, ...) down to it
    target, package = out.resolve(), root.resolve()
    if target == package:
        raise SiteError("--out must not be the package folder itself")
    if package.is_relative_to(target):
        raise SiteError("--out must not be a folder that holds the package")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SiteError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise SiteError(f"--out {out} holds files that are not a site of cbj-figures; choose an empty folder")


def _publish(stage: Path, out: Path) -> None:
    """Replace the earlier site in `out` by the staged one (only entries of `out` itself are touched)."""
    for entry in sorted(out.iterdir()):
        if entry == stage:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in sorted(stage.iterdir()):
        os.replace(entry, out / entry.name)


# ---------------------------------------------------------------- building


@dataclass
class Downloads:
    release: str = ""
    folder: str = ""  # relative to the site root
    zip: str = ""
    sums: dict[str, str] | None = None  # file in the release -> sha256
    zip_sha256: str = ""
    error: str = ""


def _downloads(root: Path, site: Path) -> Downloads:
    from cbj_figures.build import SUMS, BuildError, build
    from cbj_figures.safeio import file_digest

    try:
        folder = build(root, site / "downloads")
    except (BuildError, OSError, ValueError) as e:
        return Downloads(error=f"No release could be built from this package: {e}")
    sums = {}
    for line in (folder / SUMS).read_text(encoding="utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        sums[rel] = digest
    zipped = folder.with_name(folder.name + ".zip")
    return Downloads(folder.name, f"downloads/{folder.name}", f"downloads/{zipped.name}", sums,
                     file_digest(zipped)[0])


def _table_page(model: SiteModel, name: str, dl: Downloads) -> dict:
    t = model.tables[name]
    res = t.resource
    schema = t.schema
    marked = {fig.id: fig for fig in model.figures.values() if fig.table == name}
    pk = schema.primary_key[0] if len(schema.primary_key) == 1 else None
    rows = []
    for cells in cells_of(t):
        fig = marked.get(cells.get(pk) or "") if pk else None
        href = f"articles/{slug(fig.article)}.html#detail-{fig.mark}" if fig and fig.mark and fig.article else ""
        rows.append({"id": cells.get(pk) or str(len(rows) + 1) if pk else str(len(rows) + 1), "cells": cells,
                     "href": href})
    from cbj_figures.dictionary import _constraints

    fields = [{"name": f.name, "type": f.type + (f" ({f.format})" if f.format not in ("default", "", None) else ""),
               "unit": f.get("unit") or "", "constraints": _constraints(f.descriptor).replace("`", ""),
               "description": f.get("description") or "", "description_zh": f.get("description_zh") or ""}
              for f in schema.fields]
    downloads = []
    if dl.sums is not None:
        for fmt, rel in (("CSV", res.path), ("Parquet", f"parquet/{name}.parquet"),
                         ("DuckDB (every table)", f"{model.pkg.name}.duckdb")):
            if rel in dl.sums:
                downloads.append({"format": fmt, "name": rel.rsplit("/", 1)[-1], "href": f"{dl.folder}/{rel}",
                                  "sha256": dl.sums[rel]})
        downloads.append({"format": "zip (the whole release)", "name": dl.zip.rsplit("/", 1)[-1], "href": dl.zip,
                          "sha256": dl.zip_sha256})
    raw = schema.descriptor if isinstance(schema.descriptor, dict) else {}
    return {
        "name": name, "slug": slug(name), "title": res.descriptor.get("title") or "",
        "title_zh": res.descriptor.get("title_zh") or "", "description": res.descriptor.get("description") or "",
        "description_zh": res.descriptor.get("description_zh") or "", "path": res.path or "",
        "schema_file": res.schema_file or "inline", "primary_key": list(schema.primary_key),
        "natural_key": raw.get("naturalKey") or [], "foreign_keys": schema.foreign_keys, "fields": fields,
        "columns": [f.name for f in schema.fields if f.name in t.text.columns], "rows": rows,
        "numeric": {f.name for f in schema.fields if f.type in NUMERIC}, "downloads": downloads,
    }


def _layers(model: SiteModel) -> list[dict]:
    out = []
    for name in model.report.layers_run:
        found = [f for f in model.report.findings if f.layer == name]
        errors = sum(1 for f in found if f.severity == "error")
        out.append({"name": name, "status": "failed" if errors else "ok", "errors": errors,
                    "notes": len(found) - errors, "why": ""})
    for name, why in model.report.skipped.items():
        out.append({"name": name, "status": "skipped", "errors": 0, "notes": 0, "why": why})
    return out


def _rules(model: SiteModel) -> list[dict]:
    from cbj_figures.rulefile import Literal, Ref
    from cbj_figures.site.model import operands, status

    out = []
    for rule in model.rules:
        rec = model.reconciliations.get(rule.id)
        ops = []
        for x in operands(rule):
            if isinstance(x, Ref):
                fig = model.figures.get(f"{x.table}/{x.figure_id}")
                href = (f"articles/{slug(fig.article)}.html#detail-{fig.mark}" if fig and fig.mark and fig.article
                        else f"tables/{slug(x.table)}.html#row-{slug(x.figure_id)}")
                ops.append({"name": str(x), "printed": " ".join(fig.printed) if fig else "", "href": href, "note": ""})
            elif isinstance(x, Literal):
                ops.append({"name": "printed", "printed": x.printed, "href": "",
                            "note": f"({x.qualifier}, {x.unit}; in the text, kept in no table)"})
        if rule.group is not None:
            ops.append({"name": rule.group.table, "printed": "", "href": f"tables/{slug(rule.group.table)}.html",
                        "note": "(every group of the table)"})
        out.append({"id": rule.id, "kind": rule.kind, "description": rule.description or "", "file": rule.file,
                    "line": rule.line, "operands": ops, "computed": rec.computed if rec else "",
                    "printed": rec.printed if rec else "", "status": status(rec),
                    "waived": rec.waived if rec else None})
    return out


def build_site(root: str | Path = ".", out: str | Path = "dist/site", *, data_docs: bool = True) -> Path:
    """Generate the site of the package at `root` into `out`; returns `out`. `data_docs=False` skips the
    cross-check layers (pandera, Great Expectations) and so the Data Docs: a quicker site for tests."""
    from cbj_figures.validate import Options, validate_run

    pkg = open_package(root)
    root, out = pkg.root, Path(out)
    _check_out(root, out)
    config = load_config(root)
    report, ctx = validate_run(root, Options(cross_check=data_docs, keep_rows=True))
    model = collect(ctx.pkg, report, ctx.tables, ctx.rules, config)
    model.ge_results = ctx.ge_results
    stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=out))
    try:
        _write(model, stage)
        (stage / MARKER).write_text("A site written by `cbj-figures site`; the command replaces it whole.\n",
                                    encoding="utf-8")
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out


def _write(model: SiteModel, site: Path) -> None:
    from cbj_figures.cite import cite
    from cbj_figures.site.charts import render_charts
    from cbj_figures.site.gedocs import render_data_docs
    from cbj_figures.site.releases import preamble, releases

    env = environment()
    pkg = model.pkg
    d = pkg.descriptor
    info = {"name": pkg.name or "package", "version": pkg.version or "", "title": d.get("title") or pkg.name or "",
            "description": d.get("description") or ""}

    def page(rel: str, template: str, **context: Any) -> None:
        depth = rel.count("/")
        html = env.get_template(template).render(site=info, m=model, root="../" * depth, **context)
        if remote_loads(html):  # a bug of ours, never the package's doing: every value is escaped
            raise SiteError(f"{rel} would load {remote_loads(html)[0]}: refusing to write a page that loads "
                            "anything remote")
        target = site / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")

    static = resources.files("cbj_figures.site") / "static"
    (site / "static").mkdir()
    for name in ("site.css", "site.js"):
        (site / "static" / name).write_bytes((static / name).read_bytes())

    dl = _downloads(pkg.root, site)
    charts = render_charts(model)
    for c in charts:
        c.svg = Markup(escape.visible(c.svg, keep="\n\t"))  # checked by charts.check_svg: drawing only
    tables = [_table_page(model, name, dl) for name in model.tables]
    by_name = {t["name"]: t for t in tables}
    for t in tables:
        page(f"tables/{t['slug']}.html", "table.html", page_title=t["name"], t=t, release_name=dl.release,
             sums_href=f"{dl.folder}/SHA256SUMS", download_error=dl.error)
    summary = [{"name": n, "slug": slug(n), "title": by_name[n]["title"], "title_zh": by_name[n]["title_zh"],
                "rows": len(by_name[n]["rows"]), "description": by_name[n]["description"]} for n in model.tables]
    try:
        citation = {"bibtex": cite(None, "bibtex", pkg=pkg), "apa": cite(None, "apa", pkg=pkg)}
    except (LookupError, ValueError, KeyError, TypeError):  # a descriptor too thin to cite (no contributors)
        citation = None
    articles = list(model.articles.values())
    page("index.html", "index.html", page_title="Home", articles=articles, charts=charts, tables=summary,
         citation=citation, download={"zip": dl.zip} if dl.zip else None)
    for art in articles:
        sid, titles = model.sources.id_of(art.source), model.ev.sources.titles(art.source)
        page(f"articles/{art.slug}.html", "article.html", page_title=titles[-1] if titles else art.slug, art=art,
             text_path=model.sources.text_path(sid) or "")
    page("charts.html", "charts.html", page_title="Charts", charts=charts)
    ge_version, datadocs = "", []
    if model.ge_results:
        import great_expectations

        ge_version = great_expectations.__version__
        datadocs = render_data_docs(model.ge_results, f"{info['name']} {info['version']}")
        for p in datadocs:
            p.html = Markup(escape.visible(p.html, keep="\n\t"))  # sanitized by gedocs.sanitize
            page(f"datadocs/{slug(p.table)}.html", "datadocs_page.html", page_title=f"Data Docs: {p.table}", page=p,
                 ge_version=ge_version)
        page("datadocs/index.html", "datadocs_index.html", page_title="Data Docs", pages=datadocs,
             ge_version=ge_version)
    rules = _rules(model)
    counts = {s: sum(1 for r in rules if r["status"] == s) for s in ("holds", "fails", "waived")}
    page("factcheck.html", "factcheck.html", page_title="Fact-check", report=model.report, layers=_layers(model),
         rules=rules, counts=counts, datadocs=bool(datadocs))
    changelog = read_page(pkg.root, "CHANGELOG.md")
    page("releases.html", "releases.html", page_title="Releases", entries=releases(pkg.root),
         preamble=preamble(changelog))
