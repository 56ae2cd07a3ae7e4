"""Curated figures of two China Business Journal articles, and the toolkit that validates them.

    >>> from cbj_figures import load
    >>> load("market_size")          # pandas, typed from the Table Schema
"""

__all__ = ["load"]
__version__ = "2.0.0"


def __getattr__(name: str):
    """`load` on first use (PEP 562): the command line starts without importing polars."""
    if name == "load":
        from cbj_figures.loader import load

        return load
    raise AttributeError(f"module 'cbj_figures' has no attribute {name!r}")
