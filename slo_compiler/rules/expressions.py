"""Every emitted PromQL expression checked as Prometheus 2.x would check it, in process,
before anything is written; an invalid one names the SLO file and field it came from."""

from __future__ import annotations

from collections.abc import Iterable

from ..diagnostics import Diagnostic
from . import promql
from .ir import AlertRule, Origin, SourcePlan


def invalid(text: str, origin: Origin, what: str, slo: str | None) -> Diagnostic | None:
    """The diagnostic if `text` is not valid PromQL for Prometheus 2.x (checked once per
    shape: see promql.shape), else None."""
    err = promql.check_shape(promql.shape(text))
    if err is None:
        return None
    of = f" of SLO '{slo}'" if slo else ""
    return Diagnostic(
        origin.path,
        origin.line,
        origin.col,
        err.code,
        f"generated {what} (from {origin.field}){of} is invalid: {err}",
    )


def validate_expressions(plans: Iterable[SourcePlan]) -> list[Diagnostic]:
    """Every rule's PromQL."""
    found = (
        invalid(
            rule.expr,
            rule.origin,
            f"rule {rule.alert if isinstance(rule, AlertRule) else rule.record}",
            slo.name,
        )
        for plan in plans
        for slo in plan.slos
        for rule in slo.rules
    )
    return [d for d in found if d is not None]
