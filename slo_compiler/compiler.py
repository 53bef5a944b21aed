"""The pipeline's sequence, pure: source bytes in, generated files (or every diagnostic)
out. Each step lives in its stage:

    source/   load (positions kept) -> validate (model) -> check (names, windows, PromQL)
    rules/    plan (IR) -> validate every emitted expression
    targets/  render each selected target
    write/    the generated README, manifest and .gitignore (layout)

Nothing here touches the file system, so a failed compile cannot have written anything,
and tests run the whole compiler on in-memory sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .base.durations import parse_duration
from .diagnostics import CompileError, Diagnostic
from .emit.tree import Tree
from .rules.checks import check_files
from .rules.checks.buckets import check_buckets
from .rules.checks.routing import check_routing
from .rules.checks.slos import CheckedFile
from .rules.expressions import invalid, validate_expressions
from .rules.ids import dashboard_url
from .rules.ir import AlertRule, Origin, SourcePlan, slo_folder
from .rules.plan import plan_slo
from .source.config import Config
from .source.files import Source
from .source.load import load_config, parse_files
from .targets import folders, notes, render_targets, select
from .write import layout


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
    # What compiles but is likely not meant (an alert no route takes), for the CLI to say.
    warnings: tuple[Diagnostic, ...] = ()


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
                dashboard_url=dashboard_url(config.grafana.url, checked.model.service, index),
                scrape_interval=parse_duration(checked.model.scrape_interval),
            )
        )
    return SourcePlan(source=source.name, stem=source.stem, slos=tuple(plans))


def compile_sources(
    sources: list[Source],
    config_source: Source | None = None,
    targets: Iterable[str] | None = None,
    platform: Source | None = None,
    strict: bool = False,
    alertmanager: Source | None = None,
) -> Result:
    """Compile; raise CompileError with every problem found if anything is wrong (with
    `strict`, warnings too). `targets` as `targets.select` reads them; `platform` is the
    manifest the config's kubernetes.prometheus_config_file names, `alertmanager` the
    configuration its alertmanager.base names."""
    config, problems = load_config(config_source, platform, alertmanager)
    targets, found = select(targets or (), config, config_source and config_source.path)
    parsed, loaded = parse_files(sorted(sources, key=lambda s: s.stem))
    checked, found_checks = check_files(parsed)
    problems += found + loaded + found_checks
    problems += check_buckets([c for _, c in checked], config.histogram_buckets)
    warnings = check_routing([c for _, c in checked], config)
    if strict:
        problems += [replace(w, level="error") for w in warnings]
    if problems:
        raise CompileError(problems)
    plans = [_plan(source, c, config) for source, c in checked]
    problems = validate_expressions(plans)
    if problems:
        raise CompileError(problems)
    files, expressions = render_targets(targets, plans, config)
    # Each shape is parsed once (promql.check_shape) and CompileError drops duplicates.
    found_in_targets = (invalid(e.text, e.origin, e.what, None) for e in expressions)
    problems = [d for d in found_in_targets if d is not None]
    if problems:
        raise CompileError(problems)
    if files:
        names = [slo_folder(plans), *(config.sources if config_source else [])]
        sections = notes(targets, plans, config)
        files[layout.README] = layout.readme(files, names, folders(targets), sections)
        files.update(layout.ownership(files, names))
    rules = [r for p in plans for s in p.slos for r in s.rules]
    alerts = sum(isinstance(r, AlertRule) for r in rules)
    stats = Stats(
        slos=sum(len(p.slos) for p in plans),
        recording_rules=len(rules) - alerts,
        alerts=alerts,
        files=len(files),
    )
    return Result(plans, config, Tree(files), stats, tuple(sorted(warnings)))


def problems(data: bytes) -> list[Diagnostic]:
    """What a compile finds in one SLO file's bytes (its Prometheus rules only): how an
    import proves that what it writes compiles."""
    try:
        compile_sources(
            [Source("imported.yaml", "imported.yaml", "imported", data)], None, ["prometheus"]
        )
    except CompileError as err:
        return err.diagnostics
    return []
