"""Parse a figure exactly as the articles print it (`约1.1%`, `8363.7万元`, `十余家`).

Why: the printed text is the evidence. Its number, converted to the field's unit, is the
canonical stored value, and its precision and qualifier word decide the set of values it
stands for (the interval policy of docs/DESIGN.md, implemented here and only here).

The grammar (qualifier words, Chinese numerals, ranges, ordinals) is the toolkit's; the units
are the package's: it declares each unit, its scale words and unit words under
`conventions.units` in its descriptor, and `declared_units` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from .intervals import Interval

QUALIFIERS = ("exact", "approx", "more_than", "at_least", "nearly", "at_most", "range_low", "range_high")

# Qualifier words, longest first so that 不超过 is not read as 超过.
PREFIX_WORDS: dict[str, str | None] = {
    "不超过": "at_most",
    "不少于": "at_least",
    "不低于": "at_least",
    "至少": "at_least",
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
# A qualifier the row's quote may carry instead of the printed figure: `14家` is at_least when the
# quote says 据不完全统计 (an incomplete count). `parse` accepts it without its word; the provenance
# layer, which sees the quote, checks the quote's words.
QUOTE_WORDS: dict[str, tuple[str, ...]] = {"at_least": ("不完全统计",)}

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)
CN_NUMERALS = _CN_CHARS  # the characters of a Chinese numeral
RANGE_SEPARATORS = ("—", "–", "－", "-", "～", "~", "至", "到")  # between the two ends of a printed range

_EXACT = Context(prec=60)  # every conversion below is exact at this precision

_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NUMBER = rf"(?:{_ARABIC}|[{_CN_CHARS}]+)"
_RANGE_SEP = "(?:" + "|".join(map(re.escape, RANGE_SEPARATORS)) + ")"


@dataclass(frozen=True)
class Unit:
    """A unit as the package declares it: how a figure in it is printed after its number."""

    name: str
    scales: dict[str, Decimal]  # scale word (万, 亿, %, 成, or "" for none) -> factor into the unit
    words: tuple[str, ...] = ()  # unit words printed after the scale (元; counter words 家, 次, ...)
    word_required: bool = False  # one of `words` must be printed
    tally: bool = False  # printed without a scale word, the figure is an exact count
    ordinal: bool = False  # printed as an ordinal (第九)
    measure_words: tuple[str, ...] = ()  # unit words of a rounded measure, never a tally (年: an age in years)

    def forms(self) -> str:
        """The endings it accepts, for messages (`万元, 亿元, 元`)."""
        words = [*self.words] + ([] if self.word_required or not self.words else [""])
        ends = [s + w for s in self.scales for w in (words or [""])]
        return ", ".join(e or "no unit word" for e in ends[:12]) + (", ..." if len(ends) > 12 else "")


def declared_units(declared: Any) -> dict[str, Unit]:
    """The units a package declares (`Package.declared("units")`, its `conventions.units`): name -> Unit.

    The conventions profile checks the block's shape and that every factor is a power of ten;
    an entry this cannot read is left out here (a figure in it is then reported as in an
    undeclared unit), so a broken declaration is reported, never a traceback.
    """
    units: dict[str, Unit] = {}
    for name, spec in (declared or {}).items() if isinstance(declared, dict) else ():
        try:
            scales = {str(w): Decimal(str(f)) for w, f in spec["scales"].items()}
            if not scales or not all(f > 0 and f == Decimal(1).scaleb(f.adjusted()) for f in scales.values()):
                continue
            words = tuple(str(w) for w in spec.get("words", ()) if str(w))
            measures = tuple(str(w) for w in spec.get("measureWords", ()) if str(w))
            flags = {k: spec.get(k, False) for k in ("wordRequired", "tally", "ordinal")}
            if not all(isinstance(v, bool) for v in flags.values()):
                continue
        except (AttributeError, KeyError, TypeError, ArithmeticError, ValueError):
            continue
        units[str(name)] = Unit(str(name), scales, words, flags["wordRequired"], flags["tally"], flags["ordinal"],
                                measures)
    return units


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


def parse(printed: str, qualifier: str, unit: Unit) -> PrintedFigure:
    """Read `printed` (qualifier words included) into value and interval in `unit`."""
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
    scale, factor, unit_word = _read_unit(rest, unit, printed)
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
        if qualifier not in NEUTRAL_QUALIFIERS and qualifier not in QUOTE_WORDS:
            words = _words_for(qualifier)
            raise ValueError(f"qualifier {qualifier!r} needs its word ({words}) in the printed figure {printed!r}")
    elif printed_q != qualifier:
        shown = word if word_q else ("余" if yu else rest[-2:])
        raise ValueError(f"printed figure {printed!r} says {printed_q} ({shown}), but qualifier is {qualifier!r}")
    if ordinal and (not unit.ordinal or is_range):
        raise ValueError(f"ordinal {printed!r} is not readable in {unit.name}, which is not printed as an ordinal")
    if unit.ordinal and not ordinal:
        raise ValueError(f"{unit.name} is printed as an ordinal (第九, 第九大), got {printed!r}")

    number = second if qualifier == "range_high" else first
    x, digit_unit = _read_number(number, printed)
    value = _EXACT.multiply(x, factor)
    u = _EXACT.multiply(digit_unit, factor)
    if unit.tally and scale == "" and qualifier in NEUTRAL_QUALIFIERS and unit_word not in unit.measure_words:
        u = Decimal(0)  # a count without a scale word, or a rank, is an exact tally (not a measure: 3年 is rounded)
    interval = _interval(value, u, qualifier)
    return PrintedFigure(printed, qualifier, unit.name, value, interval, u, number, scale)


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
    if qualifier in ("more_than", "at_least"):
        return Interval.at_least(x)
    if qualifier == "at_most":
        return Interval.at_most(x)
    raise ValueError(f"unknown qualifier {qualifier!r}")  # pragma: no cover


def qualifier_words(qualifier: str) -> tuple[str, ...]:
    """The words that print `qualifier` in a figure (至少, 不少于, 不低于 for at_least)."""
    return tuple(w for w, q in {**PREFIX_WORDS, **SUFFIX_WORDS}.items() if q == qualifier)


def _words_for(qualifier: str) -> str:
    return ", ".join(qualifier_words(qualifier))


def _read_unit(rest: str, unit: Unit, printed: str) -> tuple[str, Decimal, str]:
    """The scale word, its factor into `unit` and the unit word printed (checked)."""
    core = rest
    for suffix in ("以上", "以下"):
        if core.endswith(suffix):
            core = core[: -len(suffix)]
    core = core.strip()
    for scale in sorted(unit.scales, key=len, reverse=True):  # 万亿 before 万, "" last
        word = core[len(scale):]
        if core.startswith(scale) and (word in unit.words or (word == "" and not unit.word_required)):
            return scale, unit.scales[scale], word
    raise ValueError(f"printed figure {printed!r} does not end as a figure in {unit.name} does ({unit.forms()})")


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


# ------------------------------------------------------------------ vectorized (polars)
#
# `parse_column` gives, for a whole column at once, exactly what `parse` gives row by row
# (tests/test_printed.py checks this on random and hand-picked texts). The common shapes --
# an optional prefix word, an Arabic number, a scale and unit word, nothing else -- are read
# with column expressions; every other text (Chinese numerals, ranges, 余/以上/以下, ordinals,
# blanks, a qualifier that disagrees with the words, ...) goes through `parse` itself, once per
# distinct (printed, qualifier). Values and bounds come out as integers scaled by 10**scale
# (Int128), so sums over a million rows stay exact, as the Decimal intervals do.

_MAX_DIGITS = 37  # scaled values stay below 10**37, so sums of up to 10**(38 - digits) rows fit Int128


def _power_of_ten(d: Decimal) -> int:
    """The exponent of a power of ten (every scale factor is one)."""
    e = d.adjusted()
    if d != Decimal(1).scaleb(e):  # pragma: no cover - guards the tables above
        raise AssertionError(f"{d} is not a power of ten")
    return e


_FAST_PREFIX = "(" + "|".join(PREFIX_WORDS) + ")?"  # dict order: 不超过 before 超过 before 超
_FAST_NUMBER = r"([0-9]+(?:,[0-9]{3})*)(?:\.([0-9]+))?"


def _fast_unit(unit: Unit) -> str | None:
    """The regex of the unit's endings (scale word as group 4), or None: an ordinal needs 第
    before its number, so `parse` reads every one."""
    if unit.ordinal:
        return None
    scales = "(" + "|".join(re.escape(s) for s in sorted(unit.scales, key=len, reverse=True)) + ")"
    if not unit.words:
        return scales
    return scales + "(" + "|".join(re.escape(w) for w in unit.words) + ")" + ("" if unit.word_required else "?")


@dataclass(frozen=True)
class ScaledFigures:
    """Figures of a column as integers scaled by 10**scale.

    `frame` has one row per input row: `present` (a figure is there), `error` (why it cannot be
    read, else null), `m`, `k` (the value is int(m) * 10**k: its digits, unscaled), `value`, `lo`,
    `hi` (Int128; `lo`/`hi` null where the interval is unbounded on that side, or where there is
    no figure).
    """

    scale: int
    frame: Any  # polars.DataFrame

    def decimal(self, scaled: int | None, *, low: bool = True) -> Decimal:
        """A scaled bound back as a Decimal (None: -inf for a low bound, +inf for a high one)."""
        if scaled is None:
            return Decimal("-Infinity") if low else Decimal("Infinity")
        return Decimal(scaled).scaleb(-self.scale)

    def interval(self, lo: int | None, hi: int | None) -> Interval:
        return Interval(self.decimal(lo, low=True), self.decimal(hi, low=False))


def parse_column(printed: Any, qualifier: Any, unit: Unit) -> ScaledFigures:
    """`parse` over polars Series (`qualifier` may be None: every figure exact), vectorized."""
    import polars as pl

    n = len(printed)
    q = qualifier.cast(pl.Utf8) if qualifier is not None else pl.Series([None] * n, dtype=pl.Utf8)
    df = pl.DataFrame({"p": printed.cast(pl.Utf8), "q": q}).with_columns(
        pl.when(pl.col("q").is_null() | (pl.col("q") == "")).then(pl.lit("exact")).otherwise(pl.col("q")).alias("q")
    )
    return _on_distinct(df, ["p", "q"], lambda d: _read_printed(d, unit))


def _on_distinct(df: Any, keys: list[str], read: Any) -> ScaledFigures:
    """Read each distinct key once when values repeat (figures do: 1M rows may print 10k texts),
    then spread the results back over the rows; else read every row."""
    import polars as pl

    distinct = df.select(keys).unique()
    if distinct.height * 2 > df.height:
        return _scaled(read(df), rows=df.height)
    scaled = _scaled(read(distinct), rows=df.height)
    frame = df.select(keys).join(
        pl.concat([distinct, scaled.frame], how="horizontal"), on=keys, how="left", maintain_order="left",
        nulls_equal=True,
    )
    return ScaledFigures(scaled.scale, frame.drop(keys))


def _read_printed(df: Any, unit: Unit) -> Any:
    """(p, q) -> present, error, q, m, k, uk: the fast shapes by expressions, the rest by `parse`."""
    import polars as pl

    endings = _fast_unit(unit)
    pattern = f"^{_FAST_PREFIX}{_FAST_NUMBER}{endings or '()'}$"  # groups: word, integer, fraction, scale, unit word
    groups = pl.col("p").str.extract_groups(pattern)
    word_q = {w: q for w, q in PREFIX_WORDS.items() if q is not None}
    df = df.with_columns(
        present=pl.col("p").is_not_null() & (pl.col("p") != ""),
        _word=groups.struct.field("1"),
        _int=groups.struct.field("2").str.replace_all(",", "", literal=True),
        _frac=groups.struct.field("3").fill_null(""),
        _scale=groups.struct.field("4"),
        _unit_word=groups.struct.field("5") if endings and unit.words else pl.lit(None, dtype=pl.Utf8),
    ).with_columns(
        _wq=pl.col("_word").replace_strict(word_q, default=None, return_dtype=pl.Utf8),
    )
    fast = pl.lit(endings is not None) & pl.col("_int").is_not_null() & (
        (pl.col("_wq").is_null() & (pl.col("q") == "exact")) | (pl.col("_wq") == pl.col("q"))
    ).fill_null(False)
    exponents = {w: _power_of_ten(f) for w, f in unit.scales.items()}
    exponent = pl.col("_scale").replace_strict(exponents, default=None, return_dtype=pl.Int32)
    d = pl.col("_frac").str.len_chars().cast(pl.Int32)
    zeros = (pl.col("_int").str.len_chars() - pl.col("_int").str.strip_chars_end("0").str.len_chars()).cast(pl.Int32)
    all_zero = pl.col("_int").str.strip_chars("0") == ""
    digit_exp = pl.when(d > 0).then(-d).when(all_zero).then(0).otherwise(zeros)
    measure = pl.col("_unit_word").is_in(list(unit.measure_words)).fill_null(False)
    tally = (pl.col("_scale") == "") & (pl.col("q") == "exact") & ~measure if unit.tally else pl.lit(False)
    df = df.with_columns(
        _fast=fast,
        m=pl.concat_str(pl.col("_int"), pl.col("_frac")),
        k=exponent - d,
        uk=pl.when(tally).then(None).otherwise(digit_exp + exponent),
        error=pl.lit(None, dtype=pl.Utf8),
    ).select("present", "p", "q", "_fast", "m", "k", "uk", "error")

    slow = df.filter(pl.col("present") & ~pl.col("_fast")).select("p", "q").unique()
    if slow.height:
        rows = []
        for text, qual in slow.iter_rows():
            try:
                fig = parse(text, qual, unit)
            except ValueError as e:
                rows.append((text, qual, None, None, None, str(e)))
                continue
            sign, digits, exp = fig.value.as_tuple()
            m = ("-" if sign else "") + "".join(map(str, digits))
            uk = None if fig.resolution.is_zero() else _power_of_ten(fig.resolution)
            rows.append((text, qual, m, int(exp), uk, None))
        schema = {"p": pl.Utf8, "q": pl.Utf8, "m": pl.Utf8, "k": pl.Int32, "uk": pl.Int32, "error": pl.Utf8}
        looked_up = df.select("p", "q").join(
            pl.DataFrame(rows, schema=schema, orient="row"), on=["p", "q"], how="left", maintain_order="left"
        )
        df = df.with_columns(
            pl.when(pl.col("_fast")).then(pl.col(c)).otherwise(looked_up[c]).alias(c) for c in ("m", "k", "uk", "error")
        )
    df = df.with_columns(pl.when(pl.col("present")).then(pl.col(c)).alias(c) for c in ("m", "k", "uk", "error"))
    return df.select("present", "error", "q", "m", "k", "uk")


def decimal_column(text: Any) -> ScaledFigures:
    """Stored numbers (their text, e.g. "83.637") as exact point intervals, scaled like `parse_column`."""
    import polars as pl

    return _on_distinct(pl.DataFrame({"p": text.cast(pl.Utf8)}), ["p"], _read_decimal)


def _read_decimal(df: Any) -> Any:
    import polars as pl

    groups = pl.col("p").str.extract_groups(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?$")
    df = df.with_columns(
        present=pl.col("p").is_not_null() & (pl.col("p") != ""),
        _sign=groups.struct.field("1").str.replace("+", "", literal=True),
        _int=groups.struct.field("2"),
        _frac=groups.struct.field("3").fill_null(""),
    )
    ok = (pl.col("_int").is_not_null() & ((pl.col("_int") != "") | (pl.col("_frac") != ""))).fill_null(False)
    df = df.with_columns(
        _fast=ok,
        m=pl.concat_str(pl.col("_sign"), pl.col("_int"), pl.col("_frac")),
        k=-pl.col("_frac").str.len_chars().cast(pl.Int32),
        error=pl.lit(None, dtype=pl.Utf8),
    )
    slow = df.filter(pl.col("present") & ~pl.col("_fast")).select("p").unique()
    if slow.height:  # exponents (1e5) or not a number
        rows = []
        for (cell,) in slow.iter_rows():
            try:
                d = Decimal(cell)
                if not d.is_finite():
                    raise ValueError
            except (ArithmeticError, ValueError):
                rows.append((cell, None, None, f"{cell!r} is not a finite number"))
                continue
            sign, digits, exp = d.as_tuple()
            rows.append((cell, ("-" if sign else "") + "".join(map(str, digits)), int(exp), None))
        schema = {"p": pl.Utf8, "m": pl.Utf8, "k": pl.Int32, "error": pl.Utf8}
        looked_up = df.select("p").join(
            pl.DataFrame(rows, schema=schema, orient="row"), on="p", how="left", maintain_order="left"
        )
        df = df.with_columns(
            pl.when(pl.col("_fast")).then(pl.col(c)).otherwise(looked_up[c]).alias(c) for c in ("m", "k", "error")
        )
    df = df.with_columns(
        pl.when(pl.col("present")).then(pl.col(c)).alias(c) for c in ("m", "k", "error")
    ).with_columns(q=pl.lit("exact"), uk=pl.lit(None, dtype=pl.Int32))
    return df.select("present", "error", "q", "m", "k", "uk")


def _scaled(df: Any, rows: int) -> ScaledFigures:
    """(m, k, uk, q) -> value and interval bounds as Int128 at one common scale.

    value = int(m) * 10**k; u = 10**uk (null: u = 0); the bounds follow `_interval`.
    """
    import polars as pl

    ok = pl.col("present") & pl.col("error").is_null()
    half = pl.col("q").is_in(list(NEUTRAL_QUALIFIERS)) & pl.col("uk").is_not_null()
    need = df.select(
        pl.max_horizontal(
            (-pl.col("k")).filter(ok).max(),
            (-pl.col("uk") + half.cast(pl.Int32)).filter(ok).max(),
            pl.lit(0),
        )
    ).item()
    scale = int(need or 0)

    def ten_to(e: pl.Expr, lead: str = "1") -> pl.Expr:
        """lead * 10**e as Int128 (e >= 0), built as text so no float is involved."""
        width = pl.max_horizontal(e, pl.lit(0)) + len(lead)
        return pl.lit(lead).str.pad_end(width.cast(pl.Int64), "0").cast(pl.Int128)

    shift = pl.col("k") + scale
    value = pl.col("m").str.pad_end((pl.col("m").str.len_chars() + pl.max_horizontal(shift, 0)).cast(pl.Int64), "0")
    digits = df.select(
        pl.max_horizontal(
            (pl.col("m").str.len_chars().cast(pl.Int64) + shift).filter(ok).max(),
            (pl.col("uk") + scale + 1).filter(ok).max(),
            pl.lit(0),
        )
    ).item()
    if (digits or 0) + len(str(max(rows, 1))) > _MAX_DIGITS + 1:
        raise ValueError(f"figures need {digits} digits at scale 10**-{scale}: too large for exact column arithmetic")
    u = pl.when(pl.col("uk").is_null()).then(pl.lit(0, dtype=pl.Int128)).otherwise(ten_to(pl.col("uk") + scale))
    h = pl.when(half).then(ten_to(pl.col("uk") + scale - 1, "5")).otherwise(pl.lit(0, dtype=pl.Int128))
    q = pl.col("q")
    out = df.with_columns(_v=pl.when(ok).then(value.cast(pl.Int128)), _u=u, _h=h).select(
        "present",
        "error",
        pl.when(ok).then(pl.col("m")).alias("m"),
        pl.when(ok).then(pl.col("k")).alias("k"),
        pl.col("_v").alias("value"),
        pl.when(q.is_in(list(NEUTRAL_QUALIFIERS)))
        .then(pl.col("_v") - pl.col("_h"))
        .when(q.is_in(["approx", "nearly"]))
        .then(pl.col("_v") - pl.col("_u"))
        .when(q.is_in(["more_than", "at_least"]))
        .then(pl.col("_v"))
        .alias("lo"),
        pl.when(q.is_in(list(NEUTRAL_QUALIFIERS)))
        .then(pl.col("_v") + pl.col("_h"))
        .when(q == "approx")
        .then(pl.col("_v") + pl.col("_u"))
        .when(q.is_in(["nearly", "at_most"]))
        .then(pl.col("_v"))
        .alias("hi"),
    )
    return ScaledFigures(scale, out)
