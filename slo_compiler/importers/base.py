"""What every importer shares: findings at the input's positions, names that fit our
format, the `sum(rate(SELECTOR[window]))` shape, and one imported SLO as it will be written.

Importers are pure: documents in, SLO entries and findings out. They never drop a field
silently: whatever has no exact equivalent is a warning naming the field and what was
done instead (I002 dropped, I003 kept as a raw SLI, I004 changed), and what cannot be
written at all is an error (I005).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import promql_parser

from ..base.durations import parse_duration
from ..diagnostics import Code, Diagnostic, excerpt
from ..rules.promql import PromQLError, Selector, parse_selector
from ..rules.sli import WINDOW_PLACEHOLDER
from ..source.model import ALERT_NAME_PATTERN, LABEL_NAME_PATTERN, NAME_PATTERN, RESERVED_LABEL
from ..source.yamlpos import Document, Path

_NAME = re.compile(NAME_PATTERN)
_LABEL = re.compile(LABEL_NAME_PATTERN)
_ALERT = re.compile(ALERT_NAME_PATTERN)
# Stands in for a window while a query is parsed; any range PromQL accepts will do.
_PROBE_WINDOW = "5m"


@dataclass
class Findings:
    """Diagnostics of one input document, positioned in it."""

    doc: Document
    found: list[Diagnostic] = field(default_factory=list)

    def warn(self, loc: Path, code: Code, message: str, *, key: bool = False) -> None:
        self.found.append(self.doc.source.diagnostic(loc, code, message, key=key, level="warning"))

    def error(self, loc: Path, message: str, code: Code = Code.IMPORT_IMPOSSIBLE) -> None:
        self.found.append(self.doc.source.diagnostic(loc, code, message))

    def dropped(self, loc: Path, what: str, instead: str) -> None:
        self.warn(loc, Code.IMPORT_DROPPED, f"{what}: no equivalent here, {instead}", key=True)

    @property
    def failed(self) -> bool:
        return any(d.level == "error" for d in self.found)


@dataclass
class Imported:
    """One SLO as it will be written, with where it came from."""

    service: str
    service_labels: dict[str, str]
    slo: dict[str, Any]  # our SLO entry, keys in the order they are written
    findings: Findings
    loc: Path  # the SLO's place in its document


def get(data: Any, *keys: str | int) -> Any:
    """data[k1][k2]..., or None where a level is missing or not a container."""
    for key in keys:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def mapping(findings: Findings, value: Any, loc: Path, what: str) -> dict[str, Any]:
    """`value` if it is a mapping, {} if it is absent; anything else is an error (and {}),
    so a malformed input is a positioned finding, never a traceback."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    findings.error(loc, f"{what} must be a mapping, not {excerpt(value)}")
    return {}


def sequence(findings: Findings, value: Any, loc: Path, what: str) -> list[Any]:
    """`value` if it is a list, [] if it is absent; anything else is an error (and [])."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    findings.error(loc, f"{what} must be a list, not {excerpt(value)}")
    return []


def unknown_fields(
    findings: Findings, data: Any, loc: Path, known: set[str], what: str = "dropped"
) -> None:
    """One I002 per field of `data` this importer does not read."""
    if isinstance(data, dict):
        for key in sorted(k for k in data if k not in known):
            findings.dropped((*loc, key), f"field '{key}'", what)


def name(findings: Findings, value: Any, loc: Path, what: str) -> str | None:
    """A name for an SLO or a service: as it is if it fits ours (lower-case letters, digits,
    dashes, at most 63), else made to fit, with a warning (None if nothing is left)."""
    if not isinstance(value, str) or not value:
        findings.error(loc, f"{what} is missing or not a string")
        return None
    if _NAME.match(value):
        return value
    fitted = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:63].strip("-")
    if not fitted:
        findings.error(loc, f"{what} {excerpt(value)} has no letter or digit to name it by")
        return None
    findings.warn(
        loc,
        Code.IMPORT_CHANGED,
        f"{what} {excerpt(value)} is not a name here (lower-case letters, digits and dashes, "
        f"at most 63): written as '{fitted}'",
    )
    return fitted


def alert_name(findings: Findings, value: Any, loc: Path) -> str | None:
    """The burn alert's name if it is one here, else None (the SLO's default) with a warning."""
    if value is None or (isinstance(value, str) and _ALERT.match(value)):
        return value
    findings.warn(
        loc,
        Code.IMPORT_CHANGED,
        f"{excerpt(value)} is not an alert name here (a letter, then letters, digits, _; at "
        "most 150): the SLO's default name is used",
    )
    return None


def labels(findings: Findings, value: Any, loc: Path, prefix: str) -> dict[str, str]:
    """Labels as ours: string values; a reserved name (slo, slo_*) gets `prefix`, a name
    Prometheus would refuse is dropped, each with a warning."""
    out: dict[str, str] = {}
    if value is None:
        return out
    if not isinstance(value, dict):
        findings.error(loc, "labels must be a mapping of names to values")
        return out
    for key, raw in value.items():
        at = (*loc, key)
        text = raw if isinstance(raw, str) else _scalar(raw)
        if text is None:
            findings.dropped(at, f"label '{key}'", "dropped (its value is a list or a mapping)")
            continue
        if not isinstance(key, str) or not _LABEL.match(key):
            findings.dropped(at, f"label {excerpt(key)}", "dropped (not a Prometheus label name)")
            continue
        if RESERVED_LABEL.match(key):
            findings.warn(
                at,
                Code.IMPORT_CHANGED,
                f"label '{key}' is reserved here (slo, slo_*): written as '{prefix}_{key}'",
                key=True,
            )
            key = f"{prefix}_{key}"
        out[key] = text
    return out


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return None


def objective(findings: Findings, value: Any, loc: Path, scale: float = 1) -> float | None:
    """A percentage strictly between 0 and 100 (`scale` 100 for a 0..1 ratio)."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if not isinstance(number, int | float) or isinstance(number, bool):
        findings.error(loc, f"objective {excerpt(value)} is not a number")
        return None
    percent = round(float(number) * scale, 10)
    if not 0 < percent < 100:
        findings.error(loc, f"objective {excerpt(value)} is not strictly between 0 and 100%")
        return None
    return int(percent) if percent == int(percent) else percent


def period(findings: Findings, value: Any, loc: Path) -> str | None:
    """A rolling period as our duration (in days where it is whole days): 1d to 90d."""
    try:
        seconds = parse_duration(str(value))
    except ValueError:
        findings.error(loc, f"window {excerpt(value)} is not a duration")
        return None
    if not 86400 <= seconds <= 90 * 86400:
        findings.error(
            loc, f"window {excerpt(value)} is outside the periods supported here (1d to 90d)"
        )
        return None
    return f"{seconds // 86400}d" if seconds % 86400 == 0 else str(value)


def selector(findings: Findings, text: Any, loc: Path) -> Selector | None:
    """A plain vector selector (metric{...}), or None with an error."""
    if not isinstance(text, str):
        findings.error(loc, "expected a PromQL selector string")
        return None
    try:
        return parse_selector(text)
    except PromQLError as err:
        findings.error(loc, f"not a plain selector: {err}")
        return None


@dataclass(frozen=True)
class RateSum:
    """`sum [by (...)] (rate(SELECTOR[window]))`: the shape a ratio SLI is made of."""

    selector: Selector
    by: tuple[str, ...]


def _unparen(expr: Any) -> Any:
    while isinstance(expr, promql_parser.ParenExpr):
        expr = expr.expr
    return expr


def _parsed(query: str, window: str) -> Any:
    if window not in query:
        return None
    try:
        return _unparen(promql_parser.parse(query.replace(window, _PROBE_WINDOW)))
    except ValueError:
        return None


def _rate_sum(expr: Any) -> RateSum | None:
    if not isinstance(expr, promql_parser.AggregateExpr) or str(expr.op) != "sum":
        return None
    modifier = expr.modifier
    if modifier is not None and str(modifier.type).lower().endswith("without"):
        return None
    call = _unparen(expr.expr)
    if not isinstance(call, promql_parser.Call) or call.func.name != "rate":
        return None
    matrix = call.args[0]
    if not isinstance(matrix, promql_parser.MatrixSelector):
        return None
    try:
        found = parse_selector(str(matrix.vector_selector))
    except PromQLError:
        return None
    return RateSum(found, tuple(modifier.labels) if modifier is not None else ())


def rate_sum(query: str, window: str) -> RateSum | None:
    """The selector and grouping of `query` if it is exactly that shape, `window` standing
    for the window; None for anything else (a raw SLI then keeps it as written)."""
    return _rate_sum(_parsed(query, window))


@dataclass(frozen=True)
class Latency:
    histogram: Selector  # the base name and the matchers but le
    threshold: float
    by: tuple[str, ...]


def latency_shape(errors: str, total: str, window: str) -> Latency | None:
    """`sum(rate(x_count{M}[w])) - sum(rate(x_bucket{M, le="T"}[w]))` over
    `sum(rate(x_count{M}[w]))`: the slow share of a histogram, which is a latency SLI."""
    diff = _parsed(errors, window)
    whole = rate_sum(total, window)
    if not isinstance(diff, promql_parser.BinaryExpr) or str(diff.op) != "-" or whole is None:
        return None
    count, bucket = _rate_sum(_unparen(diff.lhs)), _rate_sum(_unparen(diff.rhs))
    if count is None or bucket is None or not (count.by == bucket.by == whole.by):
        return None
    base = count.selector.metric.removesuffix("_count")
    le = [m for m in bucket.selector.matchers if m.name == "le" and m.op == "="]
    rest = tuple(m for m in bucket.selector.matchers if m.name != "le")
    same = set(count.selector.matchers) == set(rest) == set(whole.selector.matchers)
    if not (
        le
        and same
        and count.selector.metric == whole.selector.metric == f"{base}_count"
        and bucket.selector.metric == f"{base}_bucket"
    ):
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        return None
    return Latency(Selector(base, count.selector.matchers), threshold, whole.by)


def raw_ratio(errors: str, total: str, window: str) -> str:
    """Bad over all as one expression, with our window placeholder."""
    ratio = f"({errors.strip()})\n/\n({total.strip()})"
    return ratio.replace(window, WINDOW_PLACEHOLDER)
