"""Curated figures of two China Business Journal articles, and the toolkit that validates them.

    >>> from cbj_figures import load
    >>> load("market_size")          # pandas, typed from the Table Schema
"""

from cbj_figures.loader import load

__all__ = ["load"]
__version__ = "0.1.0"
