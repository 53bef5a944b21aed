"""Output targets. Each is a module with `render(plans, config, inputs) -> Output` (inputs:
the files of the targets it needs); adding one means writing that module and naming it
here, nothing else. `select` decides which a compile renders."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..diagnostics import Code, Diagnostic
from ..emit.tree import Content, Tree
from ..rules.ir import Origin, SourcePlan
from ..source.config import CONFIG_FILE, Config


@dataclass(frozen=True)
class Expression:
    """PromQL a target writes beyond the IR's rules (a Grafana query, a panel target):
    validated like every rule before anything is written."""

    text: str
    origin: Origin
    what: str


@dataclass
class Output:
    files: dict[str, Content] = field(default_factory=dict)  # deferred where large
    expressions: list[Expression] = field(default_factory=list)


Files = Tree  # the files of the targets one needs, in path order
# plans, config, and the files of the targets it needs -> what it writes
Renderer = Callable[[list[SourcePlan], Config, Files], Output]


@dataclass(frozen=True)
class Target:
    render: Renderer
    needs: tuple[str, ...] = ()


def _registry() -> dict[str, Target]:
    from . import grafana_alerting, grafana_dashboards, kubernetes, prometheus, prometheus_operator
    from .promtool import tests as promtool_tests

    return {
        "prometheus": Target(prometheus.render),
        "promtool-tests": Target(promtool_tests.render),
        "grafana-alerting": Target(grafana_alerting.render),
        "grafana-dashboards": Target(grafana_dashboards.render),
        "kubernetes": Target(kubernetes.render, kubernetes.NEEDS),
        "prometheus-operator": Target(prometheus_operator.render),
    }


TARGETS: dict[str, Target] = _registry()


def render_targets(
    names: Iterable[str], plans: list[SourcePlan], config: Config
) -> tuple[dict[str, Content], list[Expression]]:
    """Render the named targets, each once: a target's needs are rendered first and their
    files handed to it; only the named targets' files are returned."""
    outputs: dict[str, Output] = {}

    def output(name: str) -> Output:
        if name not in outputs:
            target = TARGETS[name]
            needed: dict[str, Content] = {}
            for need in target.needs:
                needed.update(output(need).files)
            inputs = Tree(needed, keep=True)
            outputs[name] = target.render(plans, config, inputs)
            # What it read is written as read: rendered once, not again by the writer.
            for need in target.needs:
                files = outputs[need].files
                kept = inputs.kept or {}
                files.update({p: kept[p] for p in files if p in kept})
        return outputs[name]

    files: dict[str, Content] = {}
    expressions: list[Expression] = []
    for name in names:
        files.update(output(name).files)
        expressions += output(name).expressions
    return files, expressions


# What `compile` writes without --target: the operator's PrometheusRule objects are for
# clusters that run the Prometheus Operator, an option (`--target prometheus-operator`).
DEFAULT_TARGETS = tuple(name for name in TARGETS if name != "prometheus-operator")


def select(
    requested: Iterable[str], config: Config, config_path: str | None
) -> tuple[list[str], list[Diagnostic]]:
    """The targets a compile renders: DEFAULT_TARGETS without any requested, less the
    Kubernetes Component unless the config has a kubernetes section (it patches a
    particular cluster's manifests); a `+name` adds a target to those defaults. Asking for
    the Component without that section is a problem at the config."""
    wants_kubernetes = "kubernetes" in config.model_fields_set
    names = list(requested)
    added = [t[1:] for t in names if t.startswith("+")]
    if not names or added:
        defaults = [t for t in DEFAULT_TARGETS if t != "kubernetes" or wants_kubernetes]
        names = [t for t in names if not t.startswith("+")]
        names = list(dict.fromkeys([*defaults, *names, *added]))
    problems = []
    if "kubernetes" in names and not wants_kubernetes:
        problems.append(
            Diagnostic(
                config_path or CONFIG_FILE,
                1,
                1,
                Code.MISSING_FIELD,
                "the kubernetes target patches a cluster's manifests and needs a kubernetes "
                "section in the config (`kubernetes: {}` takes the ticketing platform's)",
            )
        )
    return names, problems
