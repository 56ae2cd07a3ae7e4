"""Citations of the package, a table or one figure; CITATION.cff and .zenodo.json kept in step.

A figure is cited with the chain a reader needs to check it: the dataset version, the primary
source that states it, the article that reported that source, and the verbatim quote.
Everything is derived from datapackage.json (authors = its contributors) so it cannot drift.
Which fields hold a figure's source and quote, and where sources and publishers are described, the
package declares (`conventions.citation`, read by evidence.py, as every other reader of the source
chain reads it); without that a figure is cited as its table is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from cbj_figures import loader, releases, safeio
from cbj_figures.evidence import Evidence, Sources
from cbj_figures.package import Package, open_package

CFF_MESSAGE = "If you use this dataset, please cite it as below."
_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}])")


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else loader.data_root()


def cite(
    target: str | None = None,
    style: Literal["bibtex", "apa"] = "bibtex",
    root: str | Path | None = None,
    version: str | None = None,
    mirror: str | Path | None = None,
    *,
    pkg: Package | None = None,
    tables: dict | None = None,
) -> str:
    """Cite the package (None), a table ("market_size") or a figure ("company_financials/<figure_id>").

    `version` ("0.1.0", "latest") cites that release of the index under `root`: its own descriptor and rows, so a
    researcher cites exactly the data they used. The index installed with the toolkit (no `root`) gets the release
    as `load(version=...)` does, downloading it when needed (`mirror` as there); a repository's own index (a clone,
    any other `root`) is read offline: a release whose zip it does not keep is an error, never a download. `pkg` and
    `tables` (from read_tables) spare a caller citing many figures of the working package from reading it each time.
    """
    if style not in ("bibtex", "apa"):
        raise ValueError(f"style must be 'bibtex' or 'apa', not {style!r}")
    if pkg is not None:
        return _cite(pkg, target, style, tables=tables)
    root = _root(root)
    pkg = open_package(root)
    if version is None:
        return _cite(pkg, target, style)
    release = releases.find(version, root)
    if release.version == pkg.version:
        return _cite(pkg, target, style, release.url)
    installed = root.resolve() == loader.data_root().resolve()
    with releases.open_release(release.version, root, mirror, download=installed) as (_, folder):
        return _cite(open_package(folder), target, style, release.url)


def _cite(
    pkg: Package, target: str | None, style: str, release_url: str | None = None, tables: dict | None = None
) -> str:
    if target is None:
        return _dataset(pkg, None, style, url=release_url)
    table, _, key = target.partition("/")
    if table not in pkg.tables:
        raise LookupError(f"unknown table {table!r}; known tables: {', '.join(sorted(pkg.tables))}")
    if not key:
        return _dataset(pkg, table, style, url=release_url)
    return _figure(pkg, table, key, style, release_url, tables)


# ---------------------------------------------------------------- the dataset


def _year(descriptor: dict) -> str:
    return str(descriptor.get("created", ""))[:4] or "n.d."


def _authors(descriptor: dict) -> list[dict]:
    """Contributors as (family, given) people or named organisations, in descriptor order."""
    out = []
    for c in descriptor.get("contributors", []):
        if c.get("familyName") or c.get("givenName"):
            out.append({"family": c.get("familyName", ""), "given": c.get("givenName", "")})
        elif c.get("title") or c.get("organization"):
            out.append({"name": c.get("title") or c.get("organization")})
    return out


def _bib_authors(authors: list[dict]) -> str:
    return " and ".join(
        f"{_esc(a['family'])}, {_esc(a['given'])}" if "family" in a else "{" + _esc(a["name"]) + "}" for a in authors
    )


def _apa_authors(authors: list[dict]) -> str:
    names = [
        f"{a['family']}, {'. '.join(p[0] for p in a['given'].split())}." if "family" in a and a["given"]
        else a.get("family") or a.get("name", "")
        for a in authors
    ]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + ", & " + names[-1]


def _key(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9:-]+", "_", "_".join(parts)).strip("_")


def _esc(text: Any) -> str:
    return _BIBTEX_SPECIAL.sub(r"\\\1", str(text))


def _one_line(text: Any) -> str:
    """A citation's value is one line: a line break in package text must not start a line of its own."""
    return " ".join(str(text).split())


def _bibtex(kind: str, key: str, fields: dict[str, Any]) -> str:
    body = ",\n".join(f"  {k} = {{{_one_line(v)}}}" for k, v in fields.items() if v not in (None, ""))
    return f"@{kind}{{{key},\n{body}\n}}"


def _dataset(
    pkg: Package, table: str | None, style: str, extra: str = "", key_suffix: str = "", url: str | None = None
) -> str:
    """`url` (a release's download URL) stands in when the descriptor names no homepage."""
    d = pkg.descriptor
    version, title = d.get("version", ""), d.get("title", d.get("name", ""))
    part = ""
    if table:
        res = pkg.tables[table].descriptor
        part = f"table {table}" + (f" ({res['title']})" if res.get("title") else "")
    url = d.get("homepage") or d.get("url") or url
    if style == "apa":
        label = f"{part[0].upper()}{part[1:]}. In " if part else ""
        who = _apa_authors(_authors(d))
        tail = f" {url}" if url else ""
        if not who:  # APA: without an author, the title takes the author's place
            return _one_line(f"{label}{title} (Version {version}) [Data set]. ({_year(d)}).{tail}{extra}")
        who += "" if who.endswith(".") else "."
        return _one_line(f"{who} ({_year(d)}). {label}{title} (Version {version}) [Data set].{tail}{extra}")
    fields = {
        "author": _bib_authors(_authors(d)),
        "title": "{" + _esc(title) + "}" + (f": {_esc(part)}" if part else ""),
        "year": _year(d),
        "version": version,
        "howpublished": f"Data package {_esc(d.get('name', ''))}, version {version}",
        "url": url,
        "note": extra,
    }
    return _bibtex("misc", _key(d.get("name", "dataset"), "v" + version, table or "", key_suffix), fields)


# ---------------------------------------------------------------- one figure


def _figure(pkg: Package, table: str, key: str, style: str, url: str | None = None, loaded: dict | None = None) -> str:
    from cbj_figures.tables import read_tables

    if loaded is None:
        loaded, _ = read_tables(pkg)  # once: the figure's table, sources and entities come from it

    def rows(name: str) -> list[dict]:
        return loaded[name].frame.to_dicts() if name in loaded else []

    spec = pkg.tables[table]
    pk = list(spec.schema.primary_key) if spec.schema else []
    if len(pk) != 1:
        raise LookupError(f"table {table!r} has no single-field primary key to name a figure by")
    row = next((r for r in rows(table) if str(r[pk[0]]) == key), None)
    if row is None:
        raise LookupError(f"no row {pk[0]}={key!r} in table {table!r}")
    ev = Evidence.of(pkg)
    chain = Sources(pkg, ev, rows(ev.sources.resource)).chain(row.get(ev.source)) if ev.sources and ev.source else []
    names = {str(r.get(ev.publishers.id)): r for r in rows(ev.publishers.resource)} if ev.publishers else {}
    printed = next((row[f.get("printed")] for f in spec.schema.fields if f.get("printed") in row), None)
    quote = row.get(ev.quote) if ev.quote else None
    what = f"{table}/{key}" + (f" = {printed}" if printed else "")
    chain = chain[:2]  # the primary source and the article that reported it
    if style == "apa":
        said = f" Quote: “{quote}”." if quote else ""
        refs = " ".join(_role(i, chain) + ": " + _apa_source(ev, s, names) for i, s in enumerate(chain))
        return _dataset(pkg, table, "apa", f" Figure {what}.{said} {refs}".rstrip(), url=url)
    said = f" Quote: ``{_esc(quote)}''." if quote else ""
    note = f"Figure {_esc(what)}.{said} " + " ".join(
        f"{_role(i, chain)}: \\cite{{{_key(ev.sources.role(s, 'id'))}}}." for i, s in enumerate(chain)
    )
    entries = [_dataset(pkg, table, "bibtex", note.strip(), key, url)] + [_bib_source(ev, s, names) for s in chain]
    return "\n\n".join(entries)


def _role(i: int, chain: list[dict]) -> str:
    if i > 0:
        return "Reported in"
    return "Primary source" if len(chain) > 1 else "Source"


def _publisher(ev: Evidence, source: dict, names: dict) -> str:
    entity = names.get(ev.sources.role(source, "publisher"), {})
    return next((str(entity[n]) for n in (ev.publishers.names if ev.publishers else ()) if entity.get(n)), "")


def _source_title(ev: Evidence, source: dict) -> str:
    titles = ev.sources.titles(source)
    return f"{titles[0]} [{titles[1]}]" if len(titles) > 1 else "".join(titles)


def _source_authors(ev: Evidence, source: dict) -> list[str]:
    return [a.strip() for a in ev.sources.role(source, "authors").split(";") if a.strip()]


def _bib_source(ev: Evidence, source: dict, names: dict) -> str:
    date = ev.sources.role(source, "date")
    fields = {
        "author": " and ".join(_esc(a) for a in _source_authors(ev, source)),
        "title": _esc(_source_title(ev, source)),
        "year": date[:4],
        "date": date if len(date) > 4 else None,
        "language": ev.sources.role(source, "language"),
    }
    key, publisher = _key(ev.sources.role(source, "id")), _esc(_publisher(ev, source, names))
    if ev.sources.role(source, "kind") in ev.sources.article_kinds:
        return _bibtex("article", key, {**fields, "journal": publisher})
    return _bibtex("misc", key, {**fields, "publisher": publisher})


def _apa_source(ev: Evidence, source: dict, names: dict) -> str:
    authors = _source_authors(ev, source)
    who = ", & ".join([", ".join(authors[:-1]), authors[-1]]) if len(authors) > 1 else "".join(authors)
    publisher, title = _publisher(ev, source, names), _source_title(ev, source)
    lead = who or publisher or title
    date = ev.sources.role(source, "date") or "n.d."
    shown = "" if lead == title else f" {title}."
    tail = f" {publisher}." if publisher and publisher != lead else ""
    return f"{lead}. ({date}).{shown}{tail}"


# ---------------------------------------------------------------- CITATION.cff and .zenodo.json


def citation_cff(root: str | Path = ".") -> dict:
    """CITATION.cff content from datapackage.json: title, version, date-released, authors, license."""
    d = open_package(Path(root)).descriptor
    authors = []
    for c in d.get("contributors", []):
        if c.get("familyName") or c.get("givenName"):
            person = {"family-names": c.get("familyName"), "given-names": c.get("givenName"),
                      "email": c.get("email"), "affiliation": c.get("organization")}
            authors.append({k: v for k, v in person.items() if v})
        else:
            authors.append({k: v for k, v in {"name": c.get("title"), "email": c.get("email")}.items() if v})
    cff: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": CFF_MESSAGE,
        "type": "dataset",
        "title": d.get("title", d.get("name")),
        "version": d.get("version"),
        "date-released": str(d.get("created", ""))[:10],
        "authors": authors,
        "abstract": d.get("description"),
        "keywords": d.get("keywords"),
        "license": (d.get("licenses") or [{}])[0].get("name"),
        "url": d.get("homepage"),
    }
    return {k: v for k, v in cff.items() if v}


def render_cff(cff: dict) -> str:
    header = "# Generated from datapackage.json by cbj_figures.cite.write_citation_files; do not edit by hand.\n"
    return header + yaml.safe_dump(cff, allow_unicode=True, sort_keys=False, width=1000)


def zenodo_metadata(cff: dict) -> dict:
    """Zenodo deposit metadata (.zenodo.json) from CITATION.cff, so the two never disagree."""
    creators = []
    for a in cff.get("authors", []):
        if "name" in a:
            creators.append({"name": a["name"]})
        else:
            creator = {"name": f"{a.get('family-names', '')}, {a.get('given-names', '')}".strip(", ")}
            creator.update({k: a[k] for k in ("affiliation", "orcid") if k in a})
            creators.append(creator)
    meta = {
        "title": cff["title"],
        "version": cff.get("version"),
        "upload_type": "dataset",
        "publication_date": str(cff.get("date-released", "")),
        "description": cff.get("abstract") or cff["title"],
        "creators": creators,
        "keywords": cff.get("keywords"),
        "license": str(cff["license"]).lower() if cff.get("license") else None,
        "access_right": "open",
    }
    return {k: v for k, v in meta.items() if v}


def render_zenodo(cff: dict) -> str:
    return json.dumps(zenodo_metadata(cff), ensure_ascii=False, indent=2) + "\n"


def write_citation_files(root: str | Path = ".") -> list[Path]:
    """Regenerate CITATION.cff (from the descriptor) and .zenodo.json (from CITATION.cff)."""
    root = Path(root)
    cff = citation_cff(root)
    text = render_cff(cff)
    safeio.write(safeio.under(root, "CITATION.cff"), text)
    safeio.write(safeio.under(root, ".zenodo.json"), render_zenodo(yaml.safe_load(text)))
    return [root / "CITATION.cff", root / ".zenodo.json"]


def _read(root: Path, rel: str) -> str | None:
    try:
        return safeio.read_inside(root, rel).decode("utf-8")
    except (FileNotFoundError, UnicodeDecodeError, safeio.UnsafeInput):
        return None


def stale_citation_files(root: str | Path = ".") -> list[str]:
    """The citation files that differ from what `write_citation_files` would write (for CI)."""
    root = Path(root)
    stale = []
    current = _read(root, "CITATION.cff")
    if current != render_cff(citation_cff(root)):
        stale.append("CITATION.cff")
    cff = safeio.load_yaml(current) if current is not None else citation_cff(root)
    if _read(root, ".zenodo.json") != render_zenodo(cff):
        stale.append(".zenodo.json")
    return stale
