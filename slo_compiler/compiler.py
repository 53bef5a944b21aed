"""The pipeline, pure: source bytes in, generated files (or every diagnostic) out.

    load (positions kept) -> validate (model) -> check (PromQL, windows, names)
      -> plan (IR) -> validate every emitted expression -> render each target

Nothing here touches the file system, so a failed compile cannot have written anything,
and tests run the whole compiler on in-memory sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import layout, platform_manifest, promql
from .checks import CheckedFile, check_buckets, check_file, check_unique
from .config import CONFIG_FILE, DEFAULT, Config, check_config
from .diagnostics import Code, CompileError, Diagnostic
from .durations import parse_duration
from .ir import AlertRule, Origin, SourcePlan
from .plan import plan_slo
from .targets import DEFAULT_TARGETS, kubernetes, render_targets
from .targets.grafana_ids import dashboard_uid, panel_id
from .tree import Tree
from .validate import validate_document
from .yamlpos import load


@dataclass(frozen=True)
class Source:
    """One SLO file. `path` is how messages name it (as the user typed the folder);
    `name` is how generated headers name it (stable on every machine); `stem` is its
    path below the SLO folder without extension, which names its outputs."""

    path: str
    name: str
    stem: str
    data: bytes


@dataclass(frozen=True)
class Stats:
    slos: int
    recording_rules: int
    alerts: int
    files: int


@dataclass(frozen=True)
class Result:
    plans: list[SourcePlan]
    config: Config
    files: Tree  # the generated tests rendered as they are read (tree.py)
    stats: Stats


def load_config(
    source: Source | None, platform: Source | None = None
) -> tuple[Config, list[Diagnostic]]:
    """The config file's model (the defaults without one) and every problem in it; with
    `platform`, the manifest its kubernetes.prometheus_config_file names, read into it."""
    if source is None:
        return DEFAULT, []
    doc, problems = load(source.path, source.data)
    if doc is None:
        return DEFAULT, problems
    config, found = validate_document(doc, Config, "the config file")
    if config is None:
        return DEFAULT, problems + found
    config._source = source.name
    problems += check_config(config, doc.data, doc.source)
    if platform is not None:
        problems += platform_manifest.read_into(config, platform, doc.source)
    return config, problems


# A file name (each folder too) becomes a ConfigMap key and part of generated paths and
# headers: Kubernetes allows these characters in keys, and every file system this long.
_FILE_NAME = re.compile(r"[-._a-zA-Z0-9]+")
MAX_FILE_NAME = 200


def _check_names(sources: list[Source]) -> list[Diagnostic]:
    """File names that cannot name outputs, or that name the same outputs as another file:
    ConfigMap keys use the base name, and case-insensitive file systems fold case."""
    problems = []
    taken: dict[str, str] = {}
    for source in sources:
        parts = source.stem.split("/")
        base = source.path.rsplit("/", 1)[-1]
        bad = [p for p in parts if not _FILE_NAME.fullmatch(p)]
        if bad or len(base) > MAX_FILE_NAME:
            why = (
                f"'{bad[0]}' has characters a ConfigMap key cannot hold: use letters, digits, "
                "'-', '_' and '.'"
                if bad
                else f"the file name is {len(base)} characters long (at most {MAX_FILE_NAME})"
            )
            problems.append(Diagnostic(source.path, 1, 1, Code.OUTPUT_CLASH, f"{why}; rename it"))
            continue
        for key, what in (
            (source.stem.lower(), "the same output files"),
            (parts[-1].lower(), "the same ConfigMap keys"),
        ):
            first = taken.setdefault(f"{what}\0{key}", source.path)
            if first != source.path:
                problems.append(
                    Diagnostic(
                        source.path,
                        1,
                        1,
                        Code.OUTPUT_CLASH,
                        f"compiles to {what} as {first} (file names must differ in more than "
                        "case and folder); rename one of them",
                    )
                )
                break
    return problems


def _check(sources: list[Source]) -> tuple[list[tuple[Source, CheckedFile]], list[Diagnostic]]:
    problems = _check_names(sources)
    checked: list[tuple[Source, CheckedFile]] = []
    for source in sources:
        doc, found = load(source.path, source.data)
        problems += found
        if doc is None:
            continue
        model, found = validate_document(doc)
        problems += found
        if model is None:
            continue
        result, found = check_file(model, doc.source)
        problems += found
        if result is not None:
            checked.append((source, result))
    problems += check_unique([c for _, c in checked])
    return checked, problems


def _dashboard_url(config: Config, service: str, index: int) -> str | None:
    """Where the SLO's burn-rate panel is, when Grafana's address is configured."""
    if config.grafana.url is None:
        return None
    base = config.grafana.url.rstrip("/")
    return f"{base}/d/{dashboard_uid(service)}?viewPanel={panel_id(index, 'burn')}"


def _plan(source: Source, checked: CheckedFile, config: Config) -> SourcePlan:
    plans = []
    for index, c in enumerate(checked.slos):
        line, col = checked.source.position(("slos", c.index, "sli"))
        plans.append(
            plan_slo(
                c.slo,
                service=checked.model.service,
                file_labels=checked.model.labels,
                query=c.query,
                tiers=c.tiers,
                origin=Origin(source.path, line, col, "sli"),
                dashboard_url=_dashboard_url(config, checked.model.service, index),
                scrape_interval=parse_duration(checked.model.scrape_interval),
            )
        )
    return SourcePlan(source=source.name, stem=source.stem, slos=tuple(plans))


def _invalid(text: str, origin: Origin, what: str, slo: str | None) -> Diagnostic | None:
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
    """Every rule's PromQL, parsed and checked as Prometheus 2.x would."""
    found = (
        _invalid(
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


def compile_sources(
    sources: list[Source],
    config_source: Source | None = None,
    targets: Iterable[str] | None = None,
    platform: Source | None = None,
) -> Result:
    """Compile; raise CompileError with every problem found if anything is wrong.
    `targets` defaults to DEFAULT_TARGETS, less the Kubernetes Component unless the config
    has a kubernetes section (it patches a particular cluster's manifests); a `+name`
    adds a target to those defaults. `platform` is the manifest the config's
    kubernetes.prometheus_config_file names."""
    config, problems = load_config(config_source, platform)
    wants_kubernetes = "kubernetes" in config.model_fields_set
    requested = list(targets or [])
    added = [t[1:] for t in requested if t.startswith("+")]
    if not requested or added:
        defaults = [t for t in DEFAULT_TARGETS if t != "kubernetes" or wants_kubernetes]
        requested = [t for t in requested if not t.startswith("+")]
        targets = list(dict.fromkeys([*defaults, *requested, *added]))
    if "kubernetes" in targets and not wants_kubernetes:
        problems.append(
            Diagnostic(
                config_source.path if config_source else CONFIG_FILE,
                1,
                1,
                Code.MISSING_FIELD,
                "the kubernetes target patches a cluster's manifests and needs a kubernetes "
                "section in the config (`kubernetes: {}` takes the ticketing platform's)",
            )
        )
    checked, found = _check(sorted(sources, key=lambda s: s.stem))
    problems += found + check_buckets([c for _, c in checked], config.histogram_buckets)
    if problems:
        raise CompileError(problems)
    plans = [_plan(source, c, config) for source, c in checked]
    problems = validate_expressions(plans)
    if problems:
        raise CompileError(problems)
    files, expressions = render_targets(targets, plans, config)
    # Each shape is parsed once (promql.check_shape) and CompileError drops duplicates.
    found_in_targets = (_invalid(e.text, e.origin, e.what, None) for e in expressions)
    problems = [d for d in found_in_targets if d is not None]
    if problems:
        raise CompileError(problems)
    if files:
        names = [p.source for p in plans] + (config.sources if config_source else [])
        sections = kubernetes.disk_note(plans, config) if "kubernetes" in targets else []
        files[layout.README] = layout.readme(files, names, sections)
        files.update(layout.ownership(files, names))
    rules = [r for p in plans for s in p.slos for r in s.rules]
    alerts = sum(isinstance(r, AlertRule) for r in rules)
    stats = Stats(
        slos=sum(len(p.slos) for p in plans),
        recording_rules=len(rules) - alerts,
        alerts=alerts,
        files=len(files),
    )
    return Result(plans, config, Tree(files), stats)
