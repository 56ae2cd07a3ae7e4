"""Package text made safe for each medium it is shown in: one function a medium, used by every command.

A package is input, and its text (titles, rule ids, field names, cell values, file names) reaches
terminals, CI logs, job summaries, JUnit files and web pages. Shown raw it can forge a GitHub
workflow command, recolour or rewrite a terminal, hide or reorder what a reviewer reads (bidi and
zero-width characters), turn a summary's text into a live link or a remote image, or make XML
ill-formed. So every character that is not visible text is shown as its escape (`\\u202e`) in
every medium: the Unicode categories Cc (controls), Cf (format: bidi, zero-width, BOM), Zl and Zp
(line and paragraph separators), Cs (lone surrogates, legal as JSON and YAML escapes) and Cn
(unassigned, which holds the noncharacters U+FFFE and U+FFFF). Then each medium escapes its syntax.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

UNSEEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_JSON_SUSPECT = re.compile("[^\n\x20-\x7e]+")  # runs a JSON text may hide something in
# What can start Markdown syntax inline or at a line's start (links, images, code, emphasis, HTML, entities,
# tables, lists, headings, GitHub's math) or an autolink (`https:`, `www.`, `a@b`); CommonMark lets each be
# backslash-escaped. `/ , ; ? ' " % ^ { }` start nothing and stay readable.
_MARKDOWN = re.compile(r"([!#$&()*+\-.:<=>@\[\\\]_`|~])")
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _code(ch: str) -> str:
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def unseen(ch: str) -> bool:
    return unicodedata.category(ch) in UNSEEN


def visible(value: Any, keep: str = "") -> str:
    """`value` as text with every unseen character (see the module) escaped visibly, except those in `keep`."""
    text = "" if value is None else str(value)
    if text.isprintable():  # the common case, in C: no control, format, separator, surrogate or unassigned char
        return text
    return "".join(_code(ch) if ch not in keep and unseen(ch) else ch for ch in text)


def terminal(value: Any) -> str:
    """A line for a terminal or a CI log: nothing unseen (no line break, no ANSI sequence), and `::` broken
    so that no workflow command can start in it."""
    return visible(value).replace("::", ":\\x3a")


def lines(text: Any) -> str:
    """Several lines for a terminal or a CI log, each made safe by `terminal` (the line breaks are ours)."""
    return "\n".join(terminal(line) for line in str(text).split("\n"))


def command_data(value: Any) -> str:
    """A GitHub workflow command's message, escaped as the runner unescapes it (`%`, CR, LF)."""
    text = visible(value, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(value: Any) -> str:
    """A workflow command's property (`file=`, `title=`): also `:` and `,` escaped."""
    return command_data(value).replace(":", "%3A").replace(",", "%2C")


def markdown(value: Any) -> str:
    """Inline Markdown (a table cell, a heading): one line, every ASCII punctuation character backslash-escaped,
    so no link, image, autolink (`www.`, `https:`, `@`), code span, emphasis, HTML or table cell starts in it."""
    return _MARKDOWN.sub(r"\\\1", visible(value))


def code_span(value: Any) -> str:
    """A Markdown code span (a path, a field name): fenced by more backticks than any run inside it, `|` escaped
    for a table cell, on one line; nothing inside a code span is a link."""
    text = " ".join(visible(value).split(" ")).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def xml_text(value: Any) -> str:
    """XML character data: nothing unseen, nothing XML 1.0 forbids, `& < >` escaped."""
    text = _XML_FORBIDDEN.sub(lambda m: _code(m[0]), visible(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(value: Any) -> str:
    """An XML attribute value with its double quotes."""
    return '"' + xml_text(value).replace('"', "&quot;") + '"'


def html(value: Any) -> Any:
    """HTML text (a `markupsafe.Markup`): nothing unseen, `& < > " '` escaped."""
    from markupsafe import escape

    return escape(visible(value))


def _json_code(ch: str) -> str:
    n = ord(ch)
    if n < 0x10000:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def _json_run(match: re.Match) -> str:
    run = match[0]
    return run if run.isprintable() else "".join(_json_code(ch) if unseen(ch) else ch for ch in run)


def to_json(value: Any, **options: Any) -> str:
    """JSON (UTF-8 text kept as it is) with every unseen character as its `\\u` escape: the same JSON value,
    but one that prints, encodes as UTF-8 (a lone surrogate does not) and hides nothing from a reader."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_SUSPECT.sub(_json_run, text)
