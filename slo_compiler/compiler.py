"""The pipeline, pure: source bytes in, generated files (or every diagnostic) out.

    load (positions kept) -> validate (model) -> check (PromQL, windows, names)
      -> plan (IR) -> validate every emitted expression -> render each target

Nothing here touches the file system, so a failed compile cannot have written anything,
and tests run the whole compiler on in-memory sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import promql
from .checks import CheckedFile, check_file, check_unique
from .diagnostics import Code, CompileError, Diagnostic
from .ir import AlertRule, Origin, SourcePlan
from .plan import plan_slo
from .targets import TARGETS
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
    files: dict[str, bytes]
    stats: Stats


def _check(sources: list[Source]) -> list[tuple[Source, CheckedFile]]:
    problems: list[Diagnostic] = []
    checked: list[tuple[Source, CheckedFile]] = []
    stems: dict[str, str] = {}
    for source in sources:
        if source.stem in stems:
            problems.append(
                Diagnostic(
                    source.path,
                    1,
                    1,
                    Code.OUTPUT_CLASH,
                    f"compiles to the same output files as {stems[source.stem]}; "
                    "rename one of them",
                )
            )
        stems.setdefault(source.stem, source.path)
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
    if problems:
        raise CompileError(problems)
    return checked


def _plan(source: Source, checked: CheckedFile) -> SourcePlan:
    plans = []
    for c in checked.slos:
        line, col = checked.source.position(("slos", c.index, "sli"))
        plans.append(
            plan_slo(
                c.slo,
                service=checked.model.service,
                file_labels=checked.model.labels,
                query=c.query,
                tiers=c.tiers,
                origin=Origin(source.path, line, col, "sli"),
            )
        )
    return SourcePlan(source=source.name, stem=source.stem, slos=tuple(plans))


def validate_expressions(plans: Iterable[SourcePlan]) -> list[Diagnostic]:
    """Every emitted PromQL expression, parsed and checked as Prometheus 2.x would."""
    problems = []
    for plan in plans:
        for slo in plan.slos:
            for rule in slo.rules:
                try:
                    promql.validate(rule.expr)
                except promql.PromQLError as err:
                    name = rule.alert if isinstance(rule, AlertRule) else rule.record
                    o = rule.origin
                    problems.append(
                        Diagnostic(
                            o.path,
                            o.line,
                            o.col,
                            err.code,
                            f"generated rule {name} (from {o.field}) of SLO "
                            f"'{slo.name}' is invalid: {err}",
                        )
                    )
    return problems


def compile_sources(sources: list[Source], targets: Iterable[str] = tuple(TARGETS)) -> Result:
    """Compile; raise CompileError with every problem found if anything is wrong."""
    checked = _check(sorted(sources, key=lambda s: s.stem))
    plans = [_plan(source, c) for source, c in checked]
    problems = validate_expressions(plans)
    if problems:
        raise CompileError(problems)
    files: dict[str, bytes] = {}
    for target in targets:
        files.update(TARGETS[target](plans))
    rules = [r for p in plans for s in p.slos for r in s.rules]
    alerts = sum(isinstance(r, AlertRule) for r in rules)
    stats = Stats(
        slos=sum(len(p.slos) for p in plans),
        recording_rules=len(rules) - alerts,
        alerts=alerts,
        files=len(files),
    )
    return Result(plans, dict(sorted(files.items())), stats)
