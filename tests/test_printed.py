"""Printed figures: every kind of text the articles print, the interval policy, and clear errors."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbj_figures import printed as printed_figures
from cbj_figures.intervals import Interval
from cbj_figures.printed import QUALIFIERS, decimal_column, declared_units, interval_for

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "DESIGN.md"
# The units our package declares (datapackage.json, conventions.units): the cases below print in them.
UNITS = declared_units(
    json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["conventions"]["units"]
)


def parse(text, qualifier, unit: str):
    return printed_figures.parse(text, qualifier, UNITS[unit])


def parse_column(text, qualifiers, unit: str):
    return printed_figures.parse_column(text, qualifiers, UNITS[unit])


def design_examples() -> list[tuple[str, str, str, str, str, str]]:
    """The example table of DESIGN.md's "Interval policy" section."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text[text.index("### Interval policy") :]
    rows = re.findall(r"^\| `([^`]+)` \| (\w+) \| ([\w ]+?) \| ([\d.]+) \| ([\d.]+) \| (.+?) \|$", section, re.M)
    assert len(rows) >= 20, "the example table of DESIGN.md was not found"
    return rows


@pytest.mark.parametrize(("printed", "qualifier", "unit", "value", "u", "interval"), design_examples())
def test_design_md_table_is_the_implementation(printed, qualifier, unit, value, u, interval):
    fig = parse(printed, qualifier, unit)
    assert fig.value == Decimal(value)
    assert fig.resolution == Decimal(u)
    assert str(fig.interval) == interval


@pytest.mark.parametrize(
    ("printed", "qualifier", "unit", "value", "lo", "hi"),
    [
        # money: 元, 万元, 亿元, 万亿元
        ("5.20亿元", "exact", "CNY million", "520", "519.5", "520.5"),
        ("4.37亿元", "exact", "CNY million", "437", "436.5", "437.5"),
        ("8363.7万元", "exact", "CNY million", "83.637", "83.6365", "83.6375"),
        ("8630万元", "exact", "CNY million", "86.3", "86.25", "86.35"),
        ("1.1亿元", "exact", "CNY million", "110", "105", "115"),
        ("454亿元", "exact", "CNY million", "45400", "45350", "45450"),
        ("3891亿元", "exact", "CNY million", "389100", "389050", "389150"),
        ("2.83万亿元", "exact", "CNY million", "2830000", "2825000", "2835000"),
        ("1,500元", "exact", "CNY million", "0.0015", "0.00145", "0.00155"),
        ("3000余万元", "more_than", "CNY million", "30", "30", None),
        # percent, 成
        ("304.5%", "exact", "percent", "304.5", "304.45", "304.55"),
        ("59.0%", "exact", "percent", "59.0", "58.95", "59.05"),
        ("约60%", "approx", "percent", "60", "50", "70"),
        ("超80%", "more_than", "percent", "80", "80", None),
        ("超过20%", "more_than", "percent", "20", "20", None),
        ("八成", "exact", "percent", "80", "75", "85"),
        ("超过八成", "more_than", "percent", "80", "80", None),
        ("50％", "exact", "percent", "50", "45", "55"),
        # counts
        ("48名", "exact", "count", "48", "48", "48"),
        ("52个", "exact", "count", "52", "52", "52"),
        ("14家", "exact", "count", "14", "14", "14"),
        ("3项", "exact", "count", "3", "3", "3"),
        ("3年", "exact", "count", "3", "2.5", "3.5"),  # 年 is a declared measure word: an age is rounded, not a tally
        # ranks: ordinals, exact tallies
        ("第九", "exact", "rank", "9", "9", "9"),
        ("第九大", "exact", "rank", "9", "9", "9"),
        ("第1名", "exact", "rank", "1", "1", "1"),
        ("第三位", "exact", "rank", "3", "3", "3"),
        ("十四家", "exact", "count", "14", "14", "14"),
        ("二十家", "exact", "count", "20", "20", "20"),
        ("一百零五颗", "exact", "count", "105", "105", "105"),
        ("20.3万颗", "exact", "count", "203000", "202500", "203500"),
        ("近50家", "nearly", "count", "50", "40", "50"),
        ("十余家", "more_than", "count", "10", "10", None),
        ("3—5年", "range_high", "count", "5", "4.5", "5.5"),
        ("3—5家", "range_high", "count", "5", "5", "5"),
        ("100家以上", "more_than", "count", "100", "100", None),
        ("10家以下", "at_most", "count", "10", None, "10"),
        # at_least: a floor, printed 至少 / 不少于 / 不低于, or no word (the quote's 据不完全统计, see provenance)
        ("至少14家", "at_least", "count", "14", "14", None),
        ("不少于3项", "at_least", "count", "3", "3", None),
        ("不低于20%", "at_least", "percent", "20", "20", None),
        ("至少3000万元", "at_least", "CNY million", "30", "30", None),
        ("14家", "at_least", "count", "14", "14", None),
        # multiples
        ("17.6倍", "exact", "multiple", "17.6", "17.55", "17.65"),
        ("可达10—20倍", "range_low", "multiple", "10", "5", "15"),
        ("10~20倍", "range_high", "multiple", "20", "15", "25"),
        ("10至20倍", "range_high", "multiple", "20", "15", "25"),
        ("可达17.6倍", "exact", "multiple", "17.6", "17.55", "17.65"),
    ],
)
def test_printed_texts(printed, qualifier, unit, value, lo, hi):
    fig = parse(printed, qualifier, unit)
    assert fig.value == Decimal(value)
    expected = Interval(Decimal(lo) if lo else Decimal("-Infinity"), Decimal(hi) if hi else Decimal("Infinity"))
    assert fig.interval == expected


def test_missing_qualifier_means_exact():
    assert parse("83.9%", "", "percent").interval == parse("83.9%", "exact", "percent").interval


def test_policy_function_matches_parse():
    fig = parse("约1.1%", "approx", "percent")
    assert interval_for(fig.value, fig.resolution, "approx") == fig.interval
    assert interval_for(Decimal(30), Decimal(10), "nearly") == Interval.of(20, 30)


@pytest.mark.parametrize(
    ("printed", "qualifier", "unit", "message"),
    [
        ("约1.1%", "exact", "percent", "says approx (约), but qualifier is 'exact'"),
        ("1.1%", "approx", "percent", "needs its word (约)"),
        ("超过20%", "approx", "percent", "says more_than (超过)"),
        ("不超过1倍", "more_than", "multiple", "says at_most (不超过)"),
        ("十余家", "exact", "count", "says more_than (余)"),
        ("至少14家", "exact", "count", "says at_least (至少)"),
        ("不少于14家", "more_than", "count", "says at_least (不少于)"),
        ("超过14家", "at_least", "count", "says more_than (超过)"),
        ("不低于14家以上", "at_least", "count", "mixes qualifier words"),
        ("近3000万元", "approx", "CNY million", "says nearly (近)"),
        ("10—20倍", "exact", "multiple", "is a range"),
        ("17.6倍", "range_low", "multiple", "needs a printed range"),
        ("5.20亿", "exact", "CNY million", "does not end as a figure in CNY million does"),
        ("5.20亿美元", "exact", "CNY million", "does not end as a figure in CNY million does"),
        ("83.9", "exact", "percent", "does not end as a figure in percent does (%, ％, 成)"),
        ("17.6", "exact", "multiple", "does not end as a figure in multiple does (倍)"),
        ("48名人们", "exact", "count", "does not end as a figure in count does"),
        ("数亿元", "exact", "CNY million", "cannot read a number"),
        ("二三家", "exact", "count", "cannot read Chinese numeral"),
        ("十百家", "exact", "count", "cannot read Chinese numeral"),
        ("第九%", "exact", "percent", "percent, which is not printed as an ordinal"),
        ("第九大", "exact", "count", "count, which is not printed as an ordinal"),
        ("9名", "exact", "rank", "rank is printed as an ordinal"),
        ("第九家", "exact", "rank", "does not end as a figure in rank does"),
        ("", "exact", "count", "empty"),
        ("5家", "roughly", "count", "unknown qualifier"),
    ],
)
def test_unparseable_or_inconsistent_text_gives_a_clear_error(printed, qualifier, unit, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(printed, qualifier, unit)


# ------------------------------------------------------------------ the vectorized reader


def _row_by_row(printed: str | None, qualifier: str | None, unit: str):
    """What `parse` says: (value, interval), or the error message; None where there is no figure."""
    if printed is None or printed == "":
        return None
    try:
        fig = parse(printed, qualifier, unit)
    except ValueError as e:
        return str(e)
    return fig.value, fig.interval


def _vectorized(printed: list, qualifiers: list, unit: str) -> list:
    scaled = parse_column(pl.Series(printed, dtype=pl.Utf8), pl.Series(qualifiers, dtype=pl.Utf8), unit)
    out = []
    for row in scaled.frame.iter_rows(named=True):
        if not row["present"]:
            out.append(None)
        elif row["error"] is not None:
            out.append(row["error"])
        else:
            out.append((scaled.decimal(row["value"]), scaled.interval(row["lo"], row["hi"])))
    return out


def _same(a, b) -> bool:
    """Equal messages, or equal values and intervals as numbers (5.20 == 5.2000)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] == b[0] and a[1].lo == b[1].lo and a[1].hi == b[1].hi
    return a == b


EXAMPLES = [(p, q, unit) for p, q, unit, *_ in design_examples()] + [
    ("1,234亿元", "exact", "CNY million"),
    ("0.0%", "exact", "percent"),
    ("00家", "approx", "count"),
    ("约1.1%", "exact", "percent"),
    ("５亿元", "exact", "CNY million"),  # a full-width digit: parse reads it, the fast path leaves it to parse
    (" 5亿元", "exact", "CNY million"),
    ("5 亿元", "exact", "CNY million"),
    ("5亿元", None, "CNY million"),
    ("5亿元", "", "CNY million"),
    ("5亿元", "bogus", "CNY million"),
    ("3000余万元", "more_than", "CNY million"),
    ("50%以上", "more_than", "percent"),
    ("可达5.2倍", "exact", "multiple"),
    ("20万颗", "exact", "count"),
    ("20颗", "exact", "count"),
    ("20颗", "approx", "count"),
    (None, "exact", "count"),
    ("", "exact", "count"),
    ("1元", "exact", "CNY million"),
    ("至少14家", "at_least", "count"),
    ("14家", "at_least", "count"),
    ("第九大", "exact", "rank"),
    ("第九", "exact", "rank"),
    ("9名", "exact", "rank"),
    ("第九大", "exact", "count"),
    ("至少14家", "more_than", "count"),
    ("不低于20%", "at_least", "percent"),
    ("不少于3000万元", "at_least", "CNY million"),
]


@pytest.mark.parametrize("unit", sorted(UNITS))
def test_parse_column_is_parse_on_the_documented_and_tricky_cases(unit):
    cases = [(p, q) for p, q, u in EXAMPLES if u == unit]
    got = _vectorized([p for p, _ in cases], [q for _, q in cases], unit)
    for (p, q), g in zip(cases, got, strict=True):
        assert _same(g, _row_by_row(p, q, unit)), (p, q, g)


_words = st.sampled_from(
    ["", "", "", "约", "超过", "超", "首超", "突破", "近", "不超过", "至少", "不少于", "不低于", "可达", "第", " "]
)
_arabic = st.from_regex(r"[0-9]{1,5}(,[0-9]{3}){0,2}(\.[0-9]{1,4})?", fullmatch=True)
_chinese = st.text(alphabet="一二两三四五六七八九十百千零", min_size=1, max_size=4)
_number = st.one_of(_arabic, _arabic, _chinese)
_tails = st.sampled_from(
    ["元", "万元", "亿元", "万亿元", "千万元", "百万元", "%", "％", "成", "倍", "家", "万家", "亿次", "", "名人",
     "大", "名", "余万元", "余家", "以上", "万元以下", "亿", "美元", " 亿元"]
)


@settings(max_examples=200, deadline=None)
@given(
    unit=st.sampled_from(sorted(UNITS)),
    rows=st.lists(
        st.tuples(
            _words,
            _number,
            st.one_of(st.just(""), st.tuples(st.sampled_from(["—", "-", "至", "~"]), _number).map("".join)),
            _tails,
            st.sampled_from([*QUALIFIERS, None, "", "bogus"]),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_parse_column_equals_parse_on_random_texts(unit, rows):
    """The vectorized reader gives parse's value and interval, or parse's very message, row by row."""
    printed = [w + n + r + t for w, n, r, t, _ in rows]
    qualifiers = [q for *_, q in rows]
    got = _vectorized(printed, qualifiers, unit)
    for p, q, g in zip(printed, qualifiers, got, strict=True):
        assert _same(g, _row_by_row(p, q, unit)), (p, q, g)


def test_decimal_column_reads_stored_numbers_exactly():
    scaled = decimal_column(pl.Series(["83.637", "-5", ".5", "1e3", "x", None, "+2.50", "520"]))
    rows = list(scaled.frame.iter_rows(named=True))
    values = [scaled.decimal(r["value"]) if r["value"] is not None else r["error"] for r in rows]
    assert values[:4] == [Decimal("83.637"), Decimal(-5), Decimal("0.5"), Decimal(1000)]
    assert values[4] == "'x' is not a finite number" and not rows[5]["present"]
    assert values[6:] == [Decimal("2.5"), Decimal(520)]
    assert all(r["lo"] == r["value"] == r["hi"] for r in rows if r["error"] is None)


def test_parse_column_reads_repeated_texts_once_with_the_same_result():
    """Past half repeats, each distinct (printed, qualifier) is read once and spread back."""
    texts = [p for p, q, u in EXAMPLES if u == "CNY million"]
    quals = [q for p, q, u in EXAMPLES if u == "CNY million"]
    repeated = _vectorized(texts * 5, quals * 5, "CNY million")
    assert repeated == _vectorized(texts, quals, "CNY million") * 5
    scaled = decimal_column(pl.Series(["1.5", "2", None, "x"] * 10))
    assert scaled.frame.height == 40 and scaled.decimal(scaled.frame["value"][4]) == Decimal("1.5")


def test_at_least_is_a_floor_like_more_than():
    """at_least and more_than give the same interval [x, +inf); only their words differ."""
    floor = parse("至少14家", "at_least", "count")
    floor_14 = Interval(Decimal(14), Decimal("Infinity"))
    assert floor.interval == parse("十四家以上", "more_than", "count").interval == floor_14
    assert interval_for(Decimal(14), Decimal(1), "at_least") == floor.interval
    assert "at_least" in QUALIFIERS
