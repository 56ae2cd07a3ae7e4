"""Parse a figure exactly as the articles print it (`约1.1%`, `8363.7万元`, `十余家`).

Why: the printed text is the evidence. Its number, converted to the field's unit, is the
canonical stored value, and its precision and qualifier word decide the set of values it
stands for (the interval policy of docs/DESIGN.md, implemented here and only here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal

from .intervals import Interval

UNITS = ("CNY million", "percent", "count", "multiple")
QUALIFIERS = ("exact", "approx", "more_than", "nearly", "at_most", "range_low", "range_high")

# Qualifier words, longest first so that 不超过 is not read as 超过.
PREFIX_WORDS: dict[str, str | None] = {
    "不超过": "at_most",
    "超过": "more_than",
    "首超": "more_than",
    "突破": "more_than",
    "可达": None,  # "up to": neutral, allowed with exact and range qualifiers
    "超": "more_than",
    "约": "approx",
    "近": "nearly",
}
SUFFIX_WORDS: dict[str, str] = {"余": "more_than", "以上": "more_than", "以下": "at_most"}
NEUTRAL_QUALIFIERS = ("exact", "range_low", "range_high")

# Scale words into the field unit, per unit.
_CNY_SCALES = {"万亿": Decimal(1_000_000), "千万": Decimal(10), "百万": Decimal(1), "亿": Decimal(100),
               "万": Decimal("0.01"), "": Decimal("0.000001")}
_COUNT_SCALES = {"亿": Decimal(100_000_000), "万": Decimal(10_000), "": Decimal(1)}
COUNT_WORDS = "家次名个颗项年位人款台张条座种户笔单大"

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)

_EXACT = Context(prec=60)  # every conversion below is exact at this precision

_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NUMBER = rf"(?:{_ARABIC}|[{_CN_CHARS}]+)"
_RANGE_SEP = r"(?:—|–|－|-|～|~|至|到)"


@dataclass(frozen=True)
class PrintedFigure:
    """A printed figure read in the unit of its field."""

    printed: str
    qualifier: str
    unit: str
    value: Decimal  # the canonical stored value: the printed number converted to `unit`
    interval: Interval  # every value the printed text can stand for
    resolution: Decimal  # u: one unit of the last significant printed digit, in `unit`
    number: str  # the number as printed (the end picked out of a range)
    scale: str  # the scale word (亿, 万, 成, ...) or ""


def parse(printed: str, qualifier: str, unit: str) -> PrintedFigure:
    """Read `printed` (qualifier words included) into value and interval in `unit`."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
    if qualifier in (None, ""):
        qualifier = "exact"
    if qualifier not in QUALIFIERS:
        raise ValueError(f"unknown qualifier {qualifier!r}; expected one of {', '.join(QUALIFIERS)}")
    if not isinstance(printed, str) or not printed.strip():
        raise ValueError("printed figure is empty")
    text = printed.strip()

    word, word_q = "", None
    for w, q in PREFIX_WORDS.items():
        if text.startswith(w):
            word, word_q, text = w, q, text[len(w):]
            break
    ordinal = text.startswith("第")
    if ordinal:
        text = text[1:]

    m = re.fullmatch(rf"({_NUMBER})(?:\s*{_RANGE_SEP}\s*({_NUMBER}))?(余)?(.*)", text)
    if not m:
        raise ValueError(f"cannot read a number in printed figure {printed!r}")
    first, second, yu, rest = m.group(1), m.group(2), m.group(3), m.group(4)
    scale, factor = _read_unit(rest, unit, printed)
    suffix_q = "more_than" if yu else SUFFIX_WORDS.get(rest.strip()[-2:])

    # The qualifier words printed must agree with the qualifier field.
    printed_q = word_q or suffix_q
    is_range = second is not None
    if word_q and suffix_q and word_q != suffix_q:
        raise ValueError(f"printed figure {printed!r} mixes qualifier words {word!r} and {suffix_q}")
    if is_range and qualifier not in ("range_low", "range_high"):
        raise ValueError(
            f"printed figure {printed!r} is a range, but qualifier is {qualifier!r} (use range_low/range_high)"
        )
    if qualifier in ("range_low", "range_high") and not is_range:
        raise ValueError(f"qualifier {qualifier!r} needs a printed range like '10—20倍', got {printed!r}")
    if printed_q is None:
        if qualifier not in NEUTRAL_QUALIFIERS:
            words = _words_for(qualifier)
            raise ValueError(f"qualifier {qualifier!r} needs its word ({words}) in the printed figure {printed!r}")
    elif printed_q != qualifier:
        shown = word if word_q else ("余" if yu else rest[-2:])
        raise ValueError(f"printed figure {printed!r} says {printed_q} ({shown}), but qualifier is {qualifier!r}")
    if ordinal and (unit != "count" or is_range):
        raise ValueError(f"ordinal {printed!r} is only readable as a count")

    number = second if qualifier == "range_high" else first
    x, digit_unit = _read_number(number, printed)
    value = _EXACT.multiply(x, factor)
    u = _EXACT.multiply(digit_unit, factor)
    if unit == "count" and scale == "" and qualifier in NEUTRAL_QUALIFIERS:
        u = Decimal(0)  # a count without a scale word is an exact tally
    interval = _interval(value, u, qualifier)
    return PrintedFigure(printed, qualifier, unit, value, interval, u, number, scale)


def interval_for(value: Decimal, resolution: Decimal, qualifier: str) -> Interval:
    """The interval policy alone (public so the table in DESIGN.md can be tested against it)."""
    return _interval(value, resolution, qualifier)


def _interval(x: Decimal, u: Decimal, qualifier: str) -> Interval:
    half = _EXACT.divide(u, 2)
    if qualifier in ("exact", "range_low", "range_high"):
        return Interval.around(x, half, half)
    if qualifier == "approx":
        return Interval.around(x, u, u)
    if qualifier == "nearly":
        return Interval.around(x, u, 0)
    if qualifier == "more_than":
        return Interval.at_least(x)
    if qualifier == "at_most":
        return Interval.at_most(x)
    raise ValueError(f"unknown qualifier {qualifier!r}")  # pragma: no cover


def _words_for(qualifier: str) -> str:
    words = {**PREFIX_WORDS, **SUFFIX_WORDS}
    return ", ".join(w for w, q in words.items() if q == qualifier)


def _read_unit(rest: str, unit: str, printed: str) -> tuple[str, Decimal]:
    """The scale word and its factor into `unit`, checking the unit word printed."""
    core = rest
    for suffix in ("以上", "以下"):
        if core.endswith(suffix):
            core = core[: -len(suffix)]
    core = core.strip()
    if unit == "CNY million":
        if not core.endswith("元"):
            raise ValueError(f"printed figure {printed!r} has no 元, but the field unit is CNY million")
        scale = core[:-1]
        if scale not in _CNY_SCALES:
            raise ValueError(f"unknown money scale {scale!r} in printed figure {printed!r}")
        return scale, _CNY_SCALES[scale]
    if unit == "percent":
        if core in ("%", "％"):
            return "", Decimal(1)
        if core == "成":
            return "成", Decimal(10)
        raise ValueError(f"printed figure {printed!r} is not a percentage (expected % or 成)")
    if unit == "multiple":
        if core != "倍":
            raise ValueError(f"printed figure {printed!r} is not a multiple (expected 倍)")
        return "", Decimal(1)
    # count: optional scale word, then an optional counter word
    scale = ""
    for s in ("亿", "万"):
        if core.startswith(s):
            scale, core = s, core[len(s):]
            break
    if core and not all(ch in COUNT_WORDS for ch in core):
        raise ValueError(f"printed figure {printed!r} is not a count (unexpected {core!r})")
    return scale, _COUNT_SCALES[scale]


def _read_number(text: str, printed: str) -> tuple[Decimal, Decimal]:
    """The number and one unit of its last significant digit (both in the printed scale)."""
    if text[0].isdigit():
        digits = text.replace(",", "")
        x = Decimal(digits)
        if "." in digits:
            return x, Decimal(1).scaleb(-len(digits.split(".")[1]))
        return x, _integer_resolution(int(digits))
    n = _chinese_integer(text, printed)
    return Decimal(n), _integer_resolution(n)


def _integer_resolution(n: int) -> Decimal:
    """Trailing zeros of an integer are not significant: 3180 -> 10, 3000 -> 1000, 0 -> 1."""
    if n == 0:
        return Decimal(1)
    u = 1
    while n % (u * 10) == 0:
        u *= 10
    return Decimal(u)


def _chinese_integer(text: str, printed: str) -> int:
    """一 .. 九千九百九十九 (十 = 10, 十四 = 14, 二十 = 20, 两 = 2, 一百零五 = 105)."""
    total, pending, last_unit = 0, None, 10_000
    for ch in text:
        if ch in _CN_DIGITS:
            if pending:  # two digits in a row (二三) is not a numeral
                raise ValueError(f"cannot read Chinese numeral {text!r} in printed figure {printed!r}")
            pending = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if unit >= last_unit or pending == 0:
                raise ValueError(f"cannot read Chinese numeral {text!r} in printed figure {printed!r}")
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
    return total + (pending or 0)
