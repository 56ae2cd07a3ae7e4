"""Closed intervals of Decimal with outward (directed) rounding.

Why: a printed figure such as `5.20亿元` stands for every value that rounds to it, so a
consistency rule compares sets of values, not floats. Each bound is computed with the
IEEE 754/854 directed rounding modes of `decimal` (lower bounds toward -inf, upper bounds
toward +inf), so a true result can never fall outside the computed interval. Rational
powers (for CAGR) are rounded and then verified exactly with `fractions.Fraction`.
No float, and no tolerance, enters anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction

PRECISION = 40  # significant digits of every computed bound
DISPLAY_DIGITS = 6  # significant digits shown by str(), rounded outward

_TRAPS = [InvalidOperation, DivisionByZero, Overflow]
_DOWN = Context(prec=PRECISION, rounding=ROUND_FLOOR, Emax=999_999, Emin=-999_999, traps=_TRAPS)
_UP = Context(prec=PRECISION, rounding=ROUND_CEILING, Emax=999_999, Emin=-999_999, traps=_TRAPS)
_NEAR = Context(prec=PRECISION + 20, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999, traps=_TRAPS)

INF = Decimal("Infinity")
NEG_INF = Decimal("-Infinity")

Scalar = int | str | Decimal


def to_decimal(x: Scalar) -> Decimal:
    """Exact conversion; floats are refused because they already carry a rounding error."""
    if isinstance(x, (bool, float)):
        raise TypeError(f"refusing {type(x).__name__} {x!r}: use int, str or Decimal")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, (int, str)):
        d = Decimal(x)
    else:
        raise TypeError(f"cannot make a Decimal of {type(x).__name__}")
    if d.is_nan():
        raise ValueError("NaN is not a number an interval can hold")
    return d


def _mul(ctx: Context, a: Decimal, b: Decimal) -> Decimal:
    """Product of two bounds with the interval convention 0 * inf = 0 (bounds are limits)."""
    if (a.is_zero() and b.is_infinite()) or (b.is_zero() and a.is_infinite()):
        return Decimal(0)
    return ctx.multiply(a, b)


@dataclass(frozen=True)
class Interval:
    """The closed set [lo, hi]; lo may be -inf and hi +inf (then that end is open)."""

    lo: Decimal
    hi: Decimal

    def __post_init__(self) -> None:
        lo, hi = to_decimal(self.lo), to_decimal(self.hi)
        if lo == INF or hi == NEG_INF:
            raise ValueError(f"empty interval [{lo}, {hi}]")
        if lo > hi:
            raise ValueError(f"lower bound {lo} exceeds upper bound {hi}")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def point(cls, x: Scalar) -> Interval:
        """A single exact value."""
        d = to_decimal(x)
        return cls(d, d)

    @classmethod
    def of(cls, lo: Scalar, hi: Scalar) -> Interval:
        return cls(to_decimal(lo), to_decimal(hi))

    @classmethod
    def at_least(cls, x: Scalar) -> Interval:
        """[x, +inf): a printed lower bound (超, 突破, 余 ...)."""
        return cls(to_decimal(x), INF)

    @classmethod
    def at_most(cls, x: Scalar) -> Interval:
        """(-inf, x]: a printed upper bound (不超过)."""
        return cls(NEG_INF, to_decimal(x))

    @classmethod
    def around(cls, x: Scalar, below: Scalar, above: Scalar) -> Interval:
        """[x - below, x + above], rounded outward."""
        x, below, above = to_decimal(x), to_decimal(below), to_decimal(above)
        return cls(_DOWN.subtract(x, below), _UP.add(x, above))

    # -- queries ------------------------------------------------------------------------
    @property
    def bounded(self) -> bool:
        return self.lo.is_finite() and self.hi.is_finite()

    def contains(self, x: Scalar | Interval) -> bool:
        if isinstance(x, Interval):
            return self.lo <= x.lo and x.hi <= self.hi
        d = to_decimal(x)
        return self.lo <= d <= self.hi

    def __contains__(self, x: object) -> bool:
        return self.contains(x)  # type: ignore[arg-type]

    def excludes_zero(self) -> bool:
        return self.lo > 0 or self.hi < 0

    # -- arithmetic ---------------------------------------------------------------------
    def __add__(self, other: Interval | Scalar) -> Interval:
        o = _coerce(other)
        return Interval(_DOWN.add(self.lo, o.lo), _UP.add(self.hi, o.hi))

    __radd__ = __add__

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other: Interval | Scalar) -> Interval:
        o = _coerce(other)
        return Interval(_DOWN.subtract(self.lo, o.hi), _UP.subtract(self.hi, o.lo))

    def __rsub__(self, other: Interval | Scalar) -> Interval:
        return _coerce(other) - self

    def __mul__(self, other: Interval | Scalar) -> Interval:
        o = _coerce(other)
        pairs = [(self.lo, o.lo), (self.lo, o.hi), (self.hi, o.lo), (self.hi, o.hi)]
        return Interval(min(_mul(_DOWN, a, b) for a, b in pairs), max(_mul(_UP, a, b) for a, b in pairs))

    __rmul__ = __mul__

    def reciprocal(self) -> Interval:
        if not self.excludes_zero():
            raise ZeroDivisionError(f"divisor {self} contains 0")
        return Interval(_DOWN.divide(1, self.hi), _UP.divide(1, self.lo))

    def __truediv__(self, other: Interval | Scalar) -> Interval:
        o = _coerce(other)
        if not o.excludes_zero():
            raise ZeroDivisionError(f"divisor {o} contains 0")
        if not (self.bounded and o.bounded):
            return self * o.reciprocal()  # avoids inf/inf; still outward
        pairs = [(self.lo, o.lo), (self.lo, o.hi), (self.hi, o.lo), (self.hi, o.hi)]
        return Interval(min(_DOWN.divide(a, b) for a, b in pairs), max(_UP.divide(a, b) for a, b in pairs))

    def __rtruediv__(self, other: Interval | Scalar) -> Interval:
        return _coerce(other) / self

    def __pow__(self, exponent: int | Fraction) -> Interval:
        """x ** (p/q) for a positive base interval (0 allowed when the exponent is positive)."""
        e = Fraction(exponent)
        if e == 0:
            return Interval.point(1)
        if self.lo < 0 or (self.lo == 0 and e < 0):
            raise ValueError(f"power {e} needs a positive base, got {self}")
        if e > 0:
            return Interval(_rational_power(self.lo, e, up=False), _rational_power(self.hi, e, up=True))
        return Interval(_rational_power(self.hi, e, up=False), _rational_power(self.lo, e, up=True))

    def hull(self, other: Interval) -> Interval:
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    # -- display ------------------------------------------------------------------------
    def __str__(self) -> str:
        left = "(-inf" if self.lo == NEG_INF else "[" + _show(self.lo, ROUND_FLOOR)
        right = "+inf)" if self.hi == INF else _show(self.hi, ROUND_CEILING) + "]"
        return f"{left}, {right}"

    def __repr__(self) -> str:
        return f"Interval({self.lo}, {self.hi})"


def _coerce(x: Interval | Scalar) -> Interval:
    return x if isinstance(x, Interval) else Interval.point(x)


def meets(a: Interval, b: Interval) -> bool:
    """The two intervals share at least one value: the figures can both be right."""
    return max(a.lo, b.lo) <= min(a.hi, b.hi)


def le(a: Interval, b: Interval) -> bool:
    """Possibly a <= b: some value of a is <= some value of b."""
    return a.lo <= b.hi


def lt(a: Interval, b: Interval) -> bool:
    """Possibly a < b."""
    return a.lo < b.hi


def _show(d: Decimal, rounding: str) -> str:
    """At most DISPLAY_DIGITS significant digits, rounded outward, no exponent, no trailing zeros."""
    if d.is_zero():
        return "0"
    ctx = Context(prec=DISPLAY_DIGITS, rounding=rounding, Emax=999_999, Emin=-999_999)
    r = ctx.plus(d)
    text = format(r, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _rational_power(x: Decimal, e: Fraction, *, up: bool) -> Decimal:
    """x ** e rounded toward +inf (up) or -inf, verified exactly: (y ** q) vs (x ** p)."""
    if x.is_infinite():
        return INF if e > 0 else Decimal(0)
    if x.is_zero():
        return Decimal(0)
    p, q = e.numerator, e.denominator
    ctx = _UP if up else _DOWN
    if q == 1 and abs(p) <= 64:
        exact = Fraction(x) ** p  # integer power: divide once with directed rounding
        return ctx.divide(Decimal(exact.numerator), Decimal(exact.denominator))
    approx = _NEAR.exp(_NEAR.multiply(_NEAR.ln(x), _NEAR.divide(Decimal(p), Decimal(q))))
    y = ctx.plus(approx)
    target = Fraction(x) ** p

    def ok(v: Decimal) -> bool:
        power = Fraction(v) ** q
        return power >= target if up else power <= target

    # The approximation is within a few units of the 40th digit; step until the exact test
    # certifies the bound (a handful of steps at most).
    for _ in range(1000):
        if ok(y):
            return y
        y = ctx.next_plus(y) if up else ctx.next_minus(y)
        if y <= 0:
            return Decimal(0)
    raise ArithmeticError(f"could not bound {x} ** {e}")  # pragma: no cover
