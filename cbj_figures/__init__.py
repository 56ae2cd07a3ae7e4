"""Curated figures of two China Business Journal articles, and the toolkit that validates them."""

__version__ = "0.1.0"
