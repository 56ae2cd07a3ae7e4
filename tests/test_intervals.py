"""Interval arithmetic: every point result lies inside the computed interval (containment)."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cbj_figures.intervals import INF, NEG_INF, Interval, le, lt, meets

BOUND = Decimal("1e6")
numbers = st.decimals(min_value=-BOUND, max_value=BOUND, places=4, allow_nan=False, allow_infinity=False)
positive = st.decimals(min_value=Decimal("0.0001"), max_value=BOUND, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def interval_and_point(draw, elements=numbers):
    a, b = draw(elements), draw(elements)
    lo, hi = min(a, b), max(a, b)
    k = draw(st.integers(0, 1000))
    with localcontext(Context(prec=60)):  # exact: a point between the ends, ends included
        x = lo + (hi - lo) * k / 1000
    assert lo <= x <= hi
    return Interval(lo, hi), x


def inside(iv: Interval, exact: Fraction) -> bool:
    """Exact comparison (Fraction), so the test itself does no rounding."""
    lo_ok = iv.lo == NEG_INF or Fraction(iv.lo) <= exact
    hi_ok = iv.hi == INF or exact <= Fraction(iv.hi)
    return lo_ok and hi_ok


@given(interval_and_point(), interval_and_point())
def test_add_sub_mul_contain_every_point_result(a, b):
    (ia, xa), (ib, xb) = a, b
    fa, fb = Fraction(xa), Fraction(xb)
    assert inside(ia + ib, fa + fb)
    assert inside(ia - ib, fa - fb)
    assert inside(ia * ib, fa * fb)


@given(interval_and_point(), interval_and_point())
def test_division_contains_every_point_result(a, b):
    (ia, xa), (ib, xb) = a, b
    assume(ib.excludes_zero())
    assert inside(ia / ib, Fraction(xa) / Fraction(xb))
    assert inside(ib.reciprocal(), 1 / Fraction(xb))


@given(interval_and_point(), numbers)
def test_scalar_operations_contain_every_point_result(a, k):
    ia, xa = a
    fa, fk = Fraction(xa), Fraction(k)
    assert inside(ia + k, fa + fk)
    assert inside(k - ia, fk - fa)
    assert inside(ia * k, fa * fk)
    assert inside(-ia, -fa)
    if k != 0:
        assert inside(ia / k, fa / fk)


@given(interval_and_point(positive), st.integers(1, 12), st.integers(-3, 3))
def test_rational_power_contains_every_point_result(a, q, p):
    """x ** (p/q) is irrational in general: check lo**q <= x**p <= hi**q exactly instead."""
    assume(p != 0)
    ia, x = a
    r = ia ** Fraction(p, q)
    target = Fraction(x) ** p
    assert Fraction(r.lo) ** q <= target <= Fraction(r.hi) ** q
    assert r.lo > 0


@given(interval_and_point(positive), interval_and_point(positive), st.integers(1, 10))
def test_cagr_formula_contains_the_point_cagr(start, end, years):
    (i_s, xs), (i_e, xe) = start, end
    cagr = ((i_e / i_s) ** Fraction(1, years) - 1) * 100
    # (1 + c/100) ** years == end / start for the true c: check via the bounds' powers
    ratio = Fraction(xe) / Fraction(xs)
    assert (1 + Fraction(cagr.lo) / 100) ** years <= ratio <= (1 + Fraction(cagr.hi) / 100) ** years


def test_outward_rounding_of_one_third():
    third = Interval.point(1) / 3
    assert third.lo < Fraction(1, 3) < third.hi
    assert third.hi - third.lo < Decimal("1e-38")


def test_square_root_of_two_is_tight_and_certified():
    r = Interval.point(2) ** Fraction(1, 2)
    assert Fraction(r.lo) ** 2 <= 2 <= Fraction(r.hi) ** 2
    assert r.hi - r.lo <= Decimal("1e-38")


def test_exact_powers_stay_exact():
    assert Interval.point(2) ** 10 == Interval.point(1024)
    assert Interval.point(4) ** Fraction(1, 2) == Interval.point(2)
    assert Interval.point(2) ** -2 == Interval.point("0.25")
    assert Interval.of(1, 3) ** 0 == Interval.point(1)


def test_infinite_bounds():
    more_than_80 = Interval.at_least(80)
    assert str(more_than_80) == "[80, +inf)"
    assert str(Interval.at_most(1)) == "(-inf, 1]"
    assert more_than_80 + 5 == Interval.at_least(85)
    assert -more_than_80 == Interval.at_most(-80)
    assert more_than_80 * Interval.of(0, 2) == Interval(Decimal(0), INF)  # 0 * inf = 0 at a bound
    assert Interval.at_least("3.5") / Interval.at_least(2) == Interval(Decimal(0), INF)  # no inf/inf
    assert Interval.at_least(4) ** Fraction(1, 2) == Interval(Decimal(2), INF)
    assert Interval.at_least(4) ** Fraction(-1, 2) == Interval.of(0, "0.5")
    assert (Interval.at_least(10) - Interval.at_least(3)) == Interval(NEG_INF, INF)


def test_meets_and_possible_ordering():
    a, b = Interval.of("519.5", "520.5"), Interval.of("520.13695", "521.13705")
    assert meets(a, b) and meets(b, a)
    assert meets(Interval.of(1, 2), Interval.of(2, 3))  # touching ends share a value
    assert not meets(Interval.of(1, 2), Interval.of("2.0001", 3))
    assert meets(Interval.at_least(50), Interval.point("54.3"))
    assert le(Interval.of(1, 5), Interval.of(2, 3))  # possibly <=
    assert not le(Interval.of(4, 5), Interval.of(2, 3))
    assert le(Interval.point(2), Interval.point(2)) and not lt(Interval.point(2), Interval.point(2))
    assert Interval.of(1, 3).contains(Interval.of(2, 3)) and 2 in Interval.of(1, 3)


def test_compact_string_form():
    assert str(Interval.of("519.5", "520.5")) == "[519.5, 520.5]"
    assert str(Interval.of("520.13695", "521.13705")) == "[520.136, 521.138]"  # 6 digits, outward
    assert str(Interval.of("520.00", "520.00")) == "[520, 520]"
    assert str(Interval.of("0.000123456789", "3500000")) == "[0.000123456, 3500000]"
    assert str(Interval.of("-1.0000001", "0")) == "[-1.00001, 0]"
    assert str(Interval.point(1) / 3) == "[0.333333, 0.333334]"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: Interval.of(1, 2) / Interval.of(-1, 1), ZeroDivisionError),
        (lambda: Interval.of(1, 2) / 0, ZeroDivisionError),
        (lambda: Interval.of(0, 1).reciprocal(), ZeroDivisionError),
        (lambda: Interval.of(2, 1), ValueError),
        (lambda: Interval(INF, INF), ValueError),
        (lambda: Interval.point(0.1), TypeError),  # floats carry a rounding error already
        (lambda: Interval.point("NaN"), ValueError),
        (lambda: Interval.of(-1, 2) ** Fraction(1, 2), ValueError),
        (lambda: Interval.of(0, 2) ** -1, ValueError),
    ],
)
def test_refused_operations(call, error):
    with pytest.raises(error):
        call()
