"""PromQL: the one label-value escaper, user selectors, and the validator every emitted
expression goes through.

We never splice user text into PromQL. A user's selector is parsed into a `Selector`
(metric name + matchers) and printed back by `Selector.render`, so every label value in
our output passes through `quote()` and comes out as valid PromQL that matches exactly
that value, whatever quotes, backslashes or newlines it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache, lru_cache

import promql_parser

from ..diagnostics import Code

MAX_EXPR_CHARS = 16_384
MAX_EXPR_DEPTH = 64

# Functions of Prometheus 2.x (stable, 2.42 - 2.55). promql-parser follows 3.x, which
# renamed holt_winters and added functions a 2.51 server would reject at load time.
# fmt: off
PROMETHEUS_2_FUNCTIONS = frozenset((
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
    "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
    "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
    "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector",
    "year",
))
# fmt: on
PROMETHEUS_2_AGGREGATIONS = frozenset(
    [
        "sum",
        "avg",
        "count",
        "min",
        "max",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "count_values",
        "quantile",
    ]
)

_V = promql_parser.ValueType
promql_parser.register_extra_functions(
    [promql_parser.Function("holt_winters", [_V.Matrix, _V.Scalar, _V.Scalar], _V.Vector)]
)

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@lru_cache(maxsize=65536)  # pure, and label values repeat across every rule of an SLO
def quote(value: str) -> str:
    """A PromQL double-quoted string literal whose value is exactly `value`."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def regex_literal(value: str) -> str:
    """An RE2 pattern that matches exactly `value` (PromQL's =~ is anchored), for a
    matcher built from label values that Prometheus returned."""
    return "".join(f"\\{c}" if c in "\\.+*?()|[]{}^$" else c for c in value)


# MatchOp values are not hashable; their str() is stable ("MatchOp.Re").
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"


@dataclass(frozen=True)
class Selector:
    """A plain instant-vector selector: metric name and label matchers, in written order."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def render(self) -> str:
        inner = ",".join(m.render() for m in self.matchers)
        return f"{self.metric}{{{inner}}}" if inner else self.metric

    def with_metric(self, metric: str) -> Selector:
        return replace(self, metric=metric)

    def with_matcher(self, matcher: Matcher) -> Selector:
        return replace(self, matchers=(*self.matchers, matcher))


def series(metric: str, labels: dict[str, str]) -> Selector:
    """Selector for one of our recorded series: the metric plus equality matchers."""
    return Selector(metric, tuple(Matcher(k, "=", v) for k, v in labels.items()))


class PromQLError(ValueError):
    """A PromQL problem; `code` is the diagnostic code to report it under."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code


def _depth(text: str) -> int:
    """Bracket nesting depth outside string literals, without parsing (the parser recurses
    and aborts the process on pathological nesting, so this runs first)."""
    depth = deepest = 0
    quote_char = ""
    escaped = False
    for char in text:
        if quote_char:
            if escaped:
                escaped = False
            elif char == "\\" and quote_char != "`":
                escaped = True
            elif char == quote_char:
                quote_char = ""
        elif char in "\"'`":
            quote_char = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def parse(text: str) -> promql_parser.Expr:
    """Parse with size and depth caps; every failure is a PromQLError, never a crash."""
    if len(text) > MAX_EXPR_CHARS:
        raise PromQLError(
            Code.PROMQL_TOO_LARGE,
            f"expression is {len(text)} characters; the limit is {MAX_EXPR_CHARS}",
        )
    if _depth(text) > MAX_EXPR_DEPTH:
        raise PromQLError(
            Code.PROMQL_TOO_LARGE, f"expression nests deeper than {MAX_EXPR_DEPTH} levels"
        )
    try:
        return promql_parser.parse(text)
    except ValueError as err:
        raise PromQLError(Code.PROMQL_SYNTAX, f"invalid PromQL: {err}") from None
    except BaseException as err:
        # The Rust parser panics as pyo3's PanicException, a BaseException. Anything else
        # is not about the text: a signal's exception raised while the parser ran (SIGTERM
        # became "invalid PromQL (parser failure: 15)"), KeyboardInterrupt, SystemExit.
        if type(err).__name__ != "PanicException":
            raise
        raise PromQLError(Code.PROMQL_SYNTAX, f"invalid PromQL (parser failure: {err})") from None


def validate(text: str) -> promql_parser.Expr:
    """Check an expression as Prometheus 2.x would load it in a rule: it parses, uses only
    2.x functions and aggregations, and evaluates to an instant vector or scalar."""
    expr = parse(text)
    problems: list[PromQLError] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.Call) and node.func.name not in PROMETHEUS_2_FUNCTIONS:
            problems.append(
                PromQLError(
                    Code.UNKNOWN_FUNCTION,
                    f"function {node.func.name}() is not available in Prometheus 2.x",
                )
            )
        if isinstance(node, promql_parser.AggregateExpr):
            op = str(node.op)
            if op not in PROMETHEUS_2_AGGREGATIONS:
                problems.append(
                    PromQLError(
                        Code.UNKNOWN_FUNCTION,
                        f"aggregation {op}() is not available in Prometheus 2.x",
                    )
                )

    promql_parser.walk(expr, visit)
    if problems:
        raise problems[0]
    if isinstance(expr, promql_parser.MatrixSelector | promql_parser.SubqueryExpr):
        raise PromQLError(
            Code.PROMQL_TYPE,
            "a range vector cannot be the result of a rule; wrap it in a function such as rate()",
        )
    if isinstance(expr, promql_parser.StringLiteral):
        raise PromQLError(Code.PROMQL_TYPE, "a string cannot be the result of a rule")
    return expr


def _what(expr: object) -> str:
    """A parsed expression in the user's words, for messages."""
    if isinstance(expr, promql_parser.Call):
        return f"a function call {expr.func.name}(...)"
    if isinstance(expr, promql_parser.AggregateExpr):
        return "an aggregation"
    if isinstance(expr, promql_parser.BinaryExpr):
        return "an expression with an operator"
    if isinstance(expr, promql_parser.MatrixSelector):
        return "a range selector [...]"
    if isinstance(expr, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return "a literal"
    return "an expression"


def parse_selector(text: str) -> Selector:
    """A user's selector -> Selector. Only a plain vector selector with a metric name is
    accepted: the compiler builds rate() and sum by() around it itself."""
    expr = parse(text.strip())
    if not isinstance(expr, promql_parser.VectorSelector):
        raise PromQLError(
            Code.NOT_A_SELECTOR,
            f'expected a plain vector selector like metric{{label="value"}}, got '
            f"{_what(expr)}: write the counter alone, the compiler adds rate() and sum() "
            "around it itself",
        )
    if expr.offset is not None or expr.at is not None:
        raise PromQLError(
            Code.NOT_A_SELECTOR, "offset and @ modifiers are not allowed in an SLI selector"
        )
    if expr.matchers.or_matchers:
        raise PromQLError(
            Code.NOT_A_SELECTOR, "'or' inside a selector is not supported by Prometheus 2.x"
        )
    matchers = [Matcher(m.name, _OPS[str(m.op)], m.value) for m in expr.matchers.matchers]
    if not expr.name:
        raise PromQLError(Code.NOT_A_SELECTOR, "the selector needs a metric name before the braces")
    if any(m.name == "__name__" for m in matchers):
        raise PromQLError(
            Code.NOT_A_SELECTOR, "match the metric by name, not with a __name__ matcher"
        )
    return Selector(expr.name, tuple(matchers))


# A PromQL string literal in any of its three quotings.
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`[^`]*`')


def shape(text: str) -> str:
    """The expression with every string literal emptied. Two expressions of one shape are
    equally valid when their literals are: ours come from `quote()`, users' from selectors
    `parse_selector` already parsed (regexes included). Most rules of a large SLO tree
    differ only in label values, so the compiler validates each shape once."""
    return _STRING.sub('""', text)


@cache
def check_shape(text: str) -> PromQLError | None:
    """`validate` of one shape, remembered; the error instead of raising it."""
    try:
        validate(text)
    except PromQLError as err:
        return err
    return None
