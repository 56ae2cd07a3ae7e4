"""Printed figures: every kind of text the articles print, the interval policy, and clear errors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from cbj_figures.intervals import Interval
from cbj_figures.printed import interval_for, parse

DESIGN = Path(__file__).resolve().parents[1] / "docs" / "DESIGN.md"


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
        ("3年", "exact", "count", "3", "3", "3"),
        ("第九", "exact", "count", "9", "9", "9"),
        ("十四家", "exact", "count", "14", "14", "14"),
        ("二十家", "exact", "count", "20", "20", "20"),
        ("一百零五颗", "exact", "count", "105", "105", "105"),
        ("20.3万颗", "exact", "count", "203000", "202500", "203500"),
        ("近50家", "nearly", "count", "50", "40", "50"),
        ("十余家", "more_than", "count", "10", "10", None),
        ("3—5年", "range_high", "count", "5", "5", "5"),
        ("100家以上", "more_than", "count", "100", "100", None),
        ("10家以下", "at_most", "count", "10", None, "10"),
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
        ("近3000万元", "approx", "CNY million", "says nearly (近)"),
        ("10—20倍", "exact", "multiple", "is a range"),
        ("17.6倍", "range_low", "multiple", "needs a printed range"),
        ("5.20亿", "exact", "CNY million", "has no 元"),
        ("5.20亿美元", "exact", "CNY million", "unknown money scale"),
        ("83.9", "exact", "percent", "not a percentage"),
        ("17.6", "exact", "multiple", "not a multiple"),
        ("48名人们", "exact", "count", "not a count"),
        ("数亿元", "exact", "CNY million", "cannot read a number"),
        ("二三家", "exact", "count", "cannot read Chinese numeral"),
        ("十百家", "exact", "count", "cannot read Chinese numeral"),
        ("第九%", "exact", "percent", "only readable as a count"),
        ("", "exact", "count", "empty"),
        ("5家", "roughly", "count", "unknown qualifier"),
        ("5家", "exact", "dollars", "unknown unit"),
    ],
)
def test_unparseable_or_inconsistent_text_gives_a_clear_error(printed, qualifier, unit, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(printed, qualifier, unit)
