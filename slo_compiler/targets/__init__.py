"""Output targets. Each is a module whose `TARGET` says everything about it: how it
renders (`render(plans, config, inputs) -> Output`, inputs being the files of the targets
it needs), the folders it writes as generated/README.md lists them, the kinds of file the
compile summary counts, whether a compile renders it by default, and the notes it adds to
the README. Adding one means writing that module and naming it in the registry below,
nothing else. `select` decides which a compile renders."""

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
class Folder:
    """A folder of generated/ a target writes, as generated/README.md lists it."""

    path: str
    what: str
    how: str


@dataclass(frozen=True)
class Kind:
    """A kind of file the compile summary counts: the files below `folder` (the deepest
    folder of a kind wins) whose names end in `suffix`."""

    folder: str
    suffix: str
    name: str


# plans and config -> Markdown lines the target adds to generated/README.md
Notes = Callable[[list[SourcePlan], Config], list[str]]


@dataclass(frozen=True)
class Target:
    """Everything about one output. A file that `render` defers (emit.tree.Deferred) is
    rendered in a helper process: its function must be importable by name (a module-level
    function, not a closure or a lambda), since it is pickled there."""

    render: Renderer
    folders: tuple[Folder, ...] = ()
    kinds: tuple[Kind, ...] = ()
    needs: tuple[str, ...] = ()
    default: bool = True  # rendered without --target
    notes: Notes | None = None
    # Rendered only where the config has this section (it describes a particular
    # cluster or service); asking for it without one is a problem at the config.
    section: str | None = None


def _registry() -> dict[str, Target]:
    from . import (
        alertmanager,
        grafana_alerting,
        grafana_dashboards,
        kubernetes,
        prometheus,
        prometheus_operator,
    )
    from .promtool import tests as promtool_tests

    return {
        "prometheus": prometheus.TARGET,
        "promtool-tests": promtool_tests.TARGET,
        "grafana-alerting": grafana_alerting.TARGET,
        "grafana-dashboards": grafana_dashboards.TARGET,
        "kubernetes": kubernetes.TARGET,
        "prometheus-operator": prometheus_operator.TARGET,
        "alertmanager": alertmanager.TARGET,
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


def default_targets() -> tuple[str, ...]:
    """What `compile` writes without --target."""
    return tuple(name for name, target in TARGETS.items() if target.default)


def folders(names: Iterable[str]) -> list[Folder]:
    """The folders the named targets write, in the registry's order."""
    chosen = set(names)
    return [f for name, target in TARGETS.items() if name in chosen for f in target.folders]


def kinds() -> list[Kind]:
    """Every kind of file any target writes, in the registry's order."""
    return [k for target in TARGETS.values() for k in target.kinds]


def notes(names: Iterable[str], plans: list[SourcePlan], config: Config) -> list[str]:
    """The README notes of the named targets."""
    chosen = set(names)
    return [
        line
        for name, target in TARGETS.items()
        if name in chosen and target.notes is not None
        for line in target.notes(plans, config)
    ]


def select(
    requested: Iterable[str], config: Config, config_path: str | None
) -> tuple[list[str], list[Diagnostic]]:
    """The targets a compile renders: the default ones without any requested, less those
    whose config section is absent (the Kubernetes Component patches a particular
    cluster's manifests); a `+name` adds a target to those defaults. Asking for a target
    without its section is a problem at the config."""
    present = config.model_fields_set
    names = list(requested)
    added = [t[1:] for t in names if t.startswith("+")]
    if not names or added:
        defaults = [t for t in default_targets() if TARGETS[t].section in (None, *present)]
        names = [t for t in names if not t.startswith("+")]
        names = list(dict.fromkeys([*defaults, *names, *added]))
    problems = [
        Diagnostic(
            config_path or CONFIG_FILE,
            1,
            1,
            Code.MISSING_FIELD,
            f"the {name} target needs a{'n' if section[0] in 'aeiou' else ''} {section} "
            f"section in the config (`{section}: {{}}` takes the defaults)",
        )
        for name in names
        if name in TARGETS and (section := TARGETS[name].section) and section not in present
    ]
    return names, problems
