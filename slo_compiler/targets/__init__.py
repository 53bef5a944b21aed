"""Output targets. Each is a module with `render(plans, config) -> Output`; adding one means
writing that module and naming it here, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import Config
from ..ir import Origin, SourcePlan


@dataclass(frozen=True)
class Expression:
    """PromQL a target writes beyond the IR's rules (a Grafana query, a panel target):
    validated like every rule before anything is written."""

    text: str
    origin: Origin
    what: str


@dataclass
class Output:
    files: dict[str, bytes] = field(default_factory=dict)
    expressions: list[Expression] = field(default_factory=list)


Renderer = Callable[[list[SourcePlan], Config], Output]


def _registry() -> dict[str, Renderer]:
    from . import (
        grafana_alerting,
        grafana_dashboards,
        kubernetes,
        prometheus,
        prometheus_operator,
        promtool_tests,
    )

    return {
        "prometheus": prometheus.render,
        "promtool-tests": promtool_tests.render,
        "grafana-alerting": grafana_alerting.render,
        "grafana-dashboards": grafana_dashboards.render,
        "kubernetes": kubernetes.render,
        "prometheus-operator": prometheus_operator.render,
    }


TARGETS: dict[str, Renderer] = _registry()
# What `compile` writes without --target: the operator's PrometheusRule objects are for
# clusters that run the Prometheus Operator, an option (`--target prometheus-operator`).
DEFAULT_TARGETS = tuple(name for name in TARGETS if name != "prometheus-operator")
