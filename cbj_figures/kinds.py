"""The rule kinds: one small function each, registered by name. A new kind is one function here.

Each kind turns a rule's YAML (already read with its lines) into comparisons (`Check`s): what is
computed from the figures, what it is compared with, how, and where a failure is reported. The
comparisons are evaluated by checks.py on the intervals the figures' printed texts stand for.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .group_sum import compile_group_sum
from .rulefile import (
    COMMON_KEYS,
    MAX_WEIGHTS,
    MAX_YEARS,
    OPS,
    Check,
    Const,
    Count,
    Expr,
    FigureIndex,
    GroupSum,
    Literal,
    Op,
    Ref,
    Rule,
    RuleError,
    WeightedMean,
    line_of,
    parse_count,
    parse_expr,
)

HUNDRED = Const(Decimal(100))


@dataclass
class RuleInput:
    """One rule as written, with what every kind needs to read its keys."""

    item: dict
    idx: FigureIndex
    rid: str
    line: int | None

    def ex(self, key: str) -> Expr:
        return parse_expr(self.item[key], self.idx, line_of(self.item, key, self.line), self.rid)

    def exprs(self, key: str, minimum: int = 1) -> list[Expr]:
        value, where = self.item[key], line_of(self.item, key, self.line)
        if not isinstance(value, list) or len(value) < minimum:
            raise RuleError(f"rule {self.rid!r}: {key!r} must be a list of at least {minimum} operand(s)", where)
        return [parse_expr(v, self.idx, line_of(value, i, where), self.rid) for i, v in enumerate(value)]

    def flag(self, key: str) -> bool:
        value = self.item.get(key, False)
        if not isinstance(value, bool):
            raise RuleError(f"rule {self.rid!r}: {key!r} must be true or false", line_of(self.item, key, self.line))
        return value

    def choice(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self.item.get(key, default)
        if not isinstance(value, str) or value not in allowed:
            where = line_of(self.item, key, self.line)
            raise RuleError(f"rule {self.rid!r}: {key!r} must be one of {', '.join(allowed)}", where)
        return value


@dataclass(frozen=True)
class Kind:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[RuleInput], list[Check] | GroupSum]


KINDS: dict[str, Kind] = {}


def kind(name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Callable:
    """Register the function that builds a kind's comparisons."""

    def register(build: Callable[[RuleInput], list[Check] | GroupSum]) -> Callable:
        KINDS[name] = Kind(required, optional, build)
        return build

    return register


def at(target: Expr, *others: Expr) -> Ref | Count | None:
    """Where a failure is reported: the compared figure itself, else a figure inside it."""
    candidates = (target, *others)
    direct = [e for e in candidates if isinstance(e, Ref)]
    if direct:
        return direct[0]
    return next((r for r in map(_first_ref, candidates) if r is not None), None)


def _first_ref(e: Expr) -> Ref | None:
    if isinstance(e, Ref):
        return e
    children: tuple[Expr, ...] = ()
    if isinstance(e, Op):
        children = e.args
    elif isinstance(e, WeightedMean):
        children = e.values + e.weights
    return next((r for r in map(_first_ref, children) if r is not None), None)


# ------------------------------------------------------------------ the kinds


@kind("sum", ("parts", "total"))
def _sum(r: RuleInput) -> list[Check]:
    parts, total = r.exprs("parts"), r.ex("total")
    return [Check(Op("sum", tuple(parts)), total, "meets", at(total, *parts))]


@kind("shares_sum", ("parts",), ("total",))
def _shares_sum(r: RuleInput) -> list[Check]:
    parts = r.exprs("parts")
    total = r.ex("total") if "total" in r.item else HUNDRED
    return [Check(Op("sum", tuple(parts)), total, "meets", at(total, *parts))]


@kind("share", ("part", "total", "share"))
def _share(r: RuleInput) -> list[Check]:
    part, total, share = r.ex("part"), r.ex("total"), r.ex("share")
    return [Check(Op("product", (Op("ratio", (part, total)), HUNDRED)), share, "meets", at(share, part))]


@kind("growth", ("new", "old", "growth"))
def _growth(r: RuleInput) -> list[Check]:
    new, old, growth = r.ex("new"), r.ex("old"), r.ex("growth")
    if isinstance(growth, Ref) and isinstance(new, Ref) and isinstance(old, Ref):
        declared, years = r.idx.span(growth), _between(r.idx, old, new)
        if declared and years is not None and declared[0] != years:
            raise RuleError(f"rule {r.rid!r}: {declared[1]}, but {old} and {new} are {years} year(s) apart", r.line)
    computed = Op("product", (Op("difference", (Op("ratio", (new, old)), Const(Decimal(1)))), HUNDRED))
    return [Check(computed, growth, "meets", at(growth, new))]


@kind("cagr", ("start", "end", "cagr"), ("years",))
def _cagr(r: RuleInput) -> list[Check]:
    start, end, cagr = r.ex("start"), r.ex("end"), r.ex("cagr")
    years = _years(r, start, end, cagr)
    return [Check(Op("cagr", (start, end, Const(Decimal(years)))), cagr, "meets", at(cagr, end))]


@kind("ratio", ("numerator", "denominator", "value"), ("complement", "scale"))
def _ratio(r: RuleInput) -> list[Check]:
    num, den, value = r.ex("numerator"), r.ex("denominator"), r.ex("value")
    computed: Expr = Op("ratio", (num, den))
    if r.flag("complement"):
        computed = Op("difference", (Const(Decimal(1)), computed))
    if "scale" in r.item:
        computed = Op("product", (computed, r.ex("scale")))
    return [Check(computed, value, "meets", at(value, num))]


@kind("weighted_mean", ("values", "weights", "mean"))
def _weighted_mean(r: RuleInput) -> list[Check]:
    values, weights, mean = r.exprs("values"), r.exprs("weights"), r.ex("mean")
    if len(values) != len(weights) or len(values) > MAX_WEIGHTS:
        message = f"rule {r.rid!r}: 'values' and 'weights' must have the same length (at most {MAX_WEIGHTS})"
        raise RuleError(message, r.line)
    return [Check(WeightedMean(tuple(values), tuple(weights)), mean, "meets", at(mean, *values))]


@kind("order", ("operands",), ("strict",))
def _order(r: RuleInput) -> list[Check]:
    operands = r.exprs("operands", minimum=2)
    op = "lt" if r.flag("strict") else "le"
    return [Check(a, b, op, at(b, a)) for a, b in itertools.pairwise(operands)]


@kind("bound", ("value", "bound"), ("side",))
def _bound(r: RuleInput) -> list[Check]:
    value, bound = r.ex("value"), r.ex("bound")
    side = r.item.get("side") or _default_side(bound, r.idx)
    if side not in ("above", "below"):
        raise RuleError(
            f"rule {r.rid!r}: 'side' must be above or below (it can only be omitted when the bound is printed "
            "as more_than, at_least or at_most)",
            line_of(r.item, "side", r.line),
        )
    return [Check(value, bound, side, at(bound, value))]


@kind("count", ("table", "target"), ("where", "distinct", "op"))
def _count(r: RuleInput) -> list[Check]:
    count = parse_count(r.item, r.idx, r.rid, r.line)
    target = r.ex("target")
    ops = {"eq": "meets", "le": "le", "ge": "ge", "lt": "lt", "gt": "gt"}
    op = ops[r.choice("op", "eq", tuple(ops))]
    return [Check(count, target, op, at(target) or count)]


@kind("compare", ("computed", "printed"), ("op",))
def _compare(r: RuleInput) -> list[Check]:
    computed, printed = r.ex("computed"), r.ex("printed")
    return [Check(computed, printed, r.choice("op", "meets", OPS), at(printed, computed))]


@kind("group_sum", ("table", "group_by", "parts", "total"), ("where", "field", "complete"))
def _group_sum(r: RuleInput) -> GroupSum:
    return compile_group_sum(r.item, r.idx, r.rid, r.line)


# ------------------------------------------------------------------ helpers of the kinds


def _default_side(bound: Expr, idx: FigureIndex) -> str | None:
    qualifier = None
    if isinstance(bound, Literal):
        qualifier = bound.qualifier
    elif isinstance(bound, Ref):
        try:
            qualifier = idx.printed(bound).qualifier
        except ValueError:
            return None
    return {"more_than": "above", "at_least": "above", "at_most": "below"}.get(qualifier or "")


def _between(idx: FigureIndex, a: Ref, b: Ref) -> int | None:
    """Years from a's period to b's (None where either is not a year)."""
    ya, yb = idx.year(a), idx.year(b)
    return yb - ya if ya is not None and yb is not None else None


def _years(r: RuleInput, start: Expr, end: Expr, cagr: Expr) -> int:
    """Years of a CAGR: what its metric declares it spans, the periods of its figures; `years` only where
    neither tells, and never against them."""
    rid, idx, line = r.rid, r.idx, r.line
    spans = []
    if isinstance(start, Ref) and isinstance(end, Ref) and (years := _between(idx, start, end)) is not None:
        spans.append((years, f"periods of {start} and {end}"))
    if isinstance(cagr, Ref) and (declared := idx.span(cagr)):
        spans.append(declared)
    if "years" in r.item:
        years = r.item["years"]
        if isinstance(years, bool) or not isinstance(years, int) or not 0 < years <= MAX_YEARS:
            message = f"rule {rid!r}: 'years' must be a positive integer of at most {MAX_YEARS}"
            raise RuleError(message, line_of(r.item, "years", line))
        spans.append((years, "'years' of the rule"))
    if not spans:
        raise RuleError(f"rule {rid!r}: cannot tell the years of the CAGR from the figures; give 'years'", line)
    if len({years for years, _ in spans}) > 1:
        detail = "; ".join(f"{years} from {why}" for years, why in spans)
        raise RuleError(f"rule {rid!r}: the figures disagree on the CAGR's years ({detail})", line)
    years, why = spans[0]
    if not 0 < years <= MAX_YEARS:
        message = f"rule {rid!r}: CAGR over {years} years ({why}) is empty or longer than {MAX_YEARS} years"
        raise RuleError(message, line)
    return years


# ------------------------------------------------------------------ a rule, compiled


def compile_rule(item: Any, idx: FigureIndex, rel: str, line: int | None) -> Rule:
    """A rule's YAML -> Rule: the common keys checked here, the kind's own keys by its function."""
    if not isinstance(item, dict):
        raise RuleError("a rule must be a mapping with id, kind and the kind's keys", line)
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise RuleError("a rule needs a string 'id'", line)
    name = item.get("kind")
    if not isinstance(name, str) or name not in KINDS:
        where = line_of(item, "kind", line)
        raise RuleError(f"rule {rid!r}: unknown kind {name!r} (kinds: {', '.join(KINDS)})", where)
    spec = KINDS[name]
    missing = [k for k in spec.required if k not in item]
    if missing:
        raise RuleError(f"rule {rid!r} ({name}): missing key(s) {', '.join(missing)}", line)
    extra = sorted(set(item) - set(spec.required) - set(spec.optional) - set(COMMON_KEYS), key=str)
    if extra:
        raise RuleError(
            f"rule {rid!r} ({name}): unknown key {extra[0]!r} (allowed: {', '.join(spec.required + spec.optional)})",
            line_of(item, extra[0], line),
        )
    description = item.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"rule {rid!r}: description must be text", line_of(item, "description", line))
    built = spec.build(RuleInput(item, idx, rid, line))
    if isinstance(built, GroupSum):
        return Rule(rid, name, description, rel, line or 1, [], group=built)
    return Rule(rid, name, description, rel, line or 1, built)
