"""Dates as precise as published (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`), and how a quote prints them.

A stored date claims a year, a month, a day; each is *stated* when the row's quote prints it in a form
the package declares for its language (`conventions.claims.dateForms`: `{year}年`, `{month}月`,
`{month}月{day}日`, a year opening a range `{year}{dash}`), and *inferred* otherwise (DESIGN.md, "Stated
and inferred dates"). The forms are templates: the toolkit substitutes digits and escapes everything
else, so a package's declaration never runs as a pattern.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import polars as pl

from cbj_figures.evidence import DateForms

_DIGITS = {"year": "[0-9]{4}", "month": "[0-9]{1,2}", "day": "[0-9]{1,2}"}
_PLACEHOLDER = re.compile(r"\{(year|month|day|dash|monthName)\}")


def date_span(value: str) -> tuple[dt.date, dt.date] | None:
    """A date as precise as printed (YYYY, YYYY-MM, YYYY-MM-DD) as its first and last day."""
    parts = str(value).split("-")
    try:
        if len(parts) == 1:
            return dt.date(int(parts[0]), 1, 1), dt.date(int(parts[0]), 12, 31)
        if len(parts) == 2:
            first = dt.date(int(parts[0]), int(parts[1]), 1)
            return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        return day, day
    except ValueError:
        return None


def partial_date(e: pl.Expr) -> pl.Expr:
    """A `partialDate` value (YYYY, YYYY-MM or YYYY-MM-DD) as its first day; null when no such day exists.

    Dates stay as precise as published, so they are strings; their pattern alone would let 2025-02-30 through.
    """
    n = e.str.len_chars()
    padded = pl.when(n == 4).then(e + "-01-01").when(n == 7).then(e + "-01").otherwise(e)
    ok = e.str.contains(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
    return pl.when(ok).then(padded.str.to_date("%Y-%m-%d", strict=False))


def year_of(value: object) -> int | None:
    s = "" if value is None else str(value)
    return int(s[:4]) if len(s) >= 4 and s[:4].isdigit() else None


@dataclass(frozen=True)
class DateSpan:
    """A date part printed in a text: where, which part (year, month, day) and the values it prints."""

    start: int
    end: int
    part: str
    year: int | None
    month: int | None
    day: int | None


@dataclass(frozen=True)
class Printed:
    """The dates a text prints, in the declared forms."""

    years: frozenset[int]
    ranges: tuple[tuple[int, int], ...]  # `2023—2025`: every year between is admitted
    months: frozenset[int]
    days: frozenset[tuple[int, int]]  # (month, day)
    spans: tuple[DateSpan, ...]  # every printed date part in the text, in text order


class DateReader:
    """Reads the dates a quote prints, in the forms the package declares."""

    def __init__(self, forms: DateForms):
        self.forms = forms
        self._patterns = {part: [self._compile(t) for t in getattr(forms, part)] for part in ("year", "month", "day")}
        dash = "|".join(re.escape(d) for d in forms.dashes)
        self._range = re.compile(rf"(?<![0-9])([0-9]{{4}})(?:{dash})([0-9]{{4}})(?![0-9])") if dash else None

    @property
    def declared(self) -> bool:
        return bool(self.forms.year)

    def _compile(self, template: str) -> re.Pattern:
        out, pos = [], 0
        for m in _PLACEHOLDER.finditer(template):
            out.append(re.escape(template[pos : m.start()]))
            name = m[1]
            if name == "dash":
                out.append("(?:" + "|".join(re.escape(d) for d in self.forms.dashes) + ")" if self.forms.dashes
                           else "(?!)")
            elif name == "monthName":
                names = "|".join(re.escape(n) for n in self.forms.month_names) or "(?!)"
                out.append(f"(?P<monthName>{names})")
            else:
                out.append(f"(?P<{name}>{_DIGITS[name]})")
            pos = m.end()
        out.append(re.escape(template[pos:]))
        ends_in_digits = re.search(r"\{(year|month|day)\}$", template) is not None
        return re.compile("(?<![0-9])" + "".join(out) + ("(?![0-9])" if ends_in_digits else ""))

    def _month(self, m: re.Match) -> int | None:
        groups = m.groupdict()
        if groups.get("month"):
            return int(groups["month"])
        if groups.get("monthName"):
            return self.forms.month_names.index(groups["monthName"]) + 1
        return None

    def printed(self, text: str) -> Printed:
        years, months, days, spans = set(), set(), set(), []
        for part, patterns in self._patterns.items():
            for pattern in patterns:
                for m in pattern.finditer(text):
                    groups = m.groupdict()
                    year = int(groups["year"]) if groups.get("year") else None
                    month = self._month(m)
                    day = int(groups["day"]) if groups.get("day") else None
                    spans.append(DateSpan(m.start(), m.end(), part, year, month, day))
                    if year:
                        years.add(year)
                    if part in ("month", "day") and month:
                        months.add(month)
                    if part == "day" and month and day:
                        days.add((month, day))
        ranges = tuple((int(a), int(b)) for a, b in self._range.findall(text)) if self._range else ()
        ordered = tuple(sorted(spans, key=lambda d: (d.start, d.end)))
        return Printed(frozenset(years), ranges, frozenset(months), frozenset(days), ordered)

    def stated(self, quote: str, value: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
        """The year, month and (month, day) of a stored date that its quote prints (None where it does not)."""
        parts = [int(p) for p in str(value).split("-")]
        found = self.printed(quote)
        year = parts[0] if parts[0] in found.years else None
        month = parts[1] if len(parts) >= 2 and parts[1] in found.months else None
        day = (parts[1], parts[2]) if len(parts) == 3 and (parts[1], parts[2]) in found.days else None
        return year, month, day

    def unprinted(self, quote: str, value: str) -> list[str]:
        """The parts of a stored date its quote does not print (empty: the date is stated)."""
        parts, missing = str(value).split("-"), []
        year = int(parts[0])
        found = self.printed(quote)
        if year not in found.years:
            missing.append(f"the year {year}")
        if len(parts) >= 2:
            month = int(parts[1])
            if month not in found.months:
                missing.append(f"the month {self._shown('month', year, month)}")
            if len(parts) == 3 and (month, int(parts[2])) not in found.days:
                missing.append(f"the day {self._shown('day', year, month, int(parts[2]))}")
        return missing

    def _shown(self, part: str, year: int, month: int, day: int = 1) -> str:
        templates = getattr(self.forms, part)
        if not templates:
            return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if part == "day" else "")
        names = self.forms.month_names
        return templates[0].format(year=year, month=month, day=day, dash="",
                                   monthName=names[month - 1] if names else month)

    def contradicted(self, quote: str, value: str) -> str | None:
        """A year, month or day the quote prints that rules out the stored one (a printed range admits its years)."""
        found = self.printed(quote)
        parts = str(value).split("-")
        year = int(parts[0])
        if found.years and year not in found.years and not any(a <= year <= b for a, b in found.ranges):
            return f"the quote prints the year(s) {sorted(found.years)}, not {year}"
        if len(parts) < 2:
            return None
        month = int(parts[1])
        if found.months and month not in found.months and (not found.years or year in found.years):
            return f"the quote prints the month(s) {sorted(found.months)}, not {month}"
        if len(parts) == 3:
            printed_days = sorted(d for m, d in found.days if m == month)
            if printed_days and int(parts[2]) not in printed_days:
                shown = ", ".join(self._shown("day", year, month, d) for d in printed_days)
                return f"the quote prints {shown}, not {self._shown('day', year, month, int(parts[2]))}"
        return None
