"""The package's static site (`cbj-figures site`): annotated articles, charts, tables, fact-check, releases.

Modules: `config` (the package's site.yaml), `model` (figures, evidence and articles from one validation
run), `charts` (Vega-Lite specs rendered to SVG), `gedocs` (Great Expectations Data Docs, sanitized),
`releases` (changelog and diffs), `generate` (templates in, files out under --out).
"""

from cbj_figures.site.config import SiteError
from cbj_figures.site.generate import build_site

__all__ = ["SiteError", "build_site"]
