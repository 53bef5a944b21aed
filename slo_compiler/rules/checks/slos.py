"""The checks of one SLO file that span its fields: labels, templates, the SLI's
selectors and the tiers' windows for its period and scrape interval.

What the checks resolve on the way (parsed selectors, the tiers for the period) is
returned, so planning never parses or derives anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...base import templates
from ...base.durations import parse_duration
from ...diagnostics import Code, Diagnostic
from ...source.model import Slo, SloFile
from ...source.yamlpos import SourceMap
from .. import burnrate
from ..burnrate import Tier, TierOverride, WindowError, decimal_str
from ..sli import SliError, SliQuery, resolve


@dataclass(frozen=True)
class CheckedSlo:
    slo: Slo
    index: int
    query: SliQuery
    tiers: list[Tier]


@dataclass(frozen=True)
class CheckedFile:
    """A file whose every SLO passed the checks, with what they resolved."""

    model: SloFile
    source: SourceMap
    slos: list[CheckedSlo]


def _overrides(slo: Slo) -> dict[str, TierOverride]:
    return {
        name: TierOverride(
            enabled=o.enabled,
            long_window=o.long_window and parse_duration(o.long_window),
            short_window=o.short_window and parse_duration(o.short_window),
            factor=None if o.factor is None else burnrate.to_decimal(o.factor),
            for_=None if o.for_ is None else parse_duration(o.for_, allow_zero=True),
        )
        for name, o in slo.alerting.tiers.items()
    }


def _tiers(
    slo: Slo, scrape_interval: int, at: tuple, source: SourceMap, out: list[Diagnostic]
) -> list[Tier] | None:
    valid = True
    try:
        tiers = burnrate.plan_tiers(parse_duration(slo.period), scrape_interval, _overrides(slo))
    except WindowError as err:
        for p in err.problems:
            where = (*at, "period") if p.field == "period" else (*at, "alerting", "tiers", p.tier)
            field = () if p.field == "period" else (p.field,)
            out.append(
                source.diagnostic((*where, *field), Code.WINDOW, f"tier {p.tier}: {p.message}")
            )
        tiers, valid = err.tiers, False  # the tiers that plan still get their checks
    objective = burnrate.to_decimal(slo.objective)
    budget = burnrate.error_budget(objective)
    if objective < 1:  # Sloth, Pyrra and OpenSLO users write 99.9% as 0.999
        out.append(
            source.diagnostic(
                (*at, "objective"),
                Code.OBJECTIVE,
                f"the objective is a percentage: {decimal_str(objective)} means "
                f"{decimal_str(objective)}% of events good; did you mean "
                f"{decimal_str(objective * 100)}?",
            )
        )
        return None
    for tier in tiers:
        threshold = tier.threshold(budget)
        if threshold >= 1:
            overridden = slo.alerting.tiers.get(tier.name)
            where = (
                (*at, "alerting", "tiers", tier.name, "factor")
                if overridden and overridden.factor is not None
                else (*at, "objective")
            )
            out.append(
                source.diagnostic(
                    where,
                    Code.TIER_UNREACHABLE,
                    f"objective {decimal_str(objective)}% leaves a {decimal_str(budget * 100)}% "
                    f"error budget: tier {tier.name} (factor {decimal_str(tier.factor)}) would "
                    f"need more than {decimal_str(threshold * 100)}% of events to fail and can "
                    "never fire; raise the objective, lower the factor or disable the tier",
                )
            )
    return tiers if valid else None


def _labels(
    slo: Slo, file_labels: dict[str, str], at: tuple, source: SourceMap, out: list[Diagnostic]
) -> None:
    seen: set[str] = set()
    for j, name in enumerate(slo.group_by):
        if name in seen:
            out.append(
                source.diagnostic(
                    (*at, "group_by", j),
                    Code.INVALID_VALUE,
                    f"'{name}' is listed twice in group_by",
                )
            )
        elif name in file_labels or name in slo.labels:
            out.append(
                source.diagnostic(
                    (*at, "group_by", j),
                    Code.LABEL_CLASH,
                    f"'{name}' is both a grouping label and a fixed label of this SLO; a fixed "
                    "value would overwrite every group's",
                )
            )
        seen.add(name)


def _templates(slo: Slo, at: tuple, source: SourceMap, out: list[Diagnostic]) -> None:
    """Prometheus expands templates in every annotation, links included; the generated
    tests must predict the result, so only the actions `templates` renders are allowed."""
    fields = [
        (("alerting", severity, "annotations", key), text)
        for severity in ("page", "ticket")
        for key, text in getattr(slo.alerting, severity).annotations.items()
    ]
    fields += [
        (("alerting", k), getattr(slo.alerting, k)) for k in ("runbook_url", "dashboard_url")
    ]
    problems = [
        (path, f"template {bad} is not supported in annotations: use {templates.SUPPORTED}")
        for path, text in fields
        if text and (bad := templates.unsupported(text))
    ]
    problems += [
        (
            path,
            f"'{braced}' in an annotation: Grafana releases differ on it (read literally, or "
            "expanded from Grafana's environment and files), so it cannot be written to mean "
            "one thing; leave out the braces",
        )
        for path, text in [*fields, (("description",), slo.description)]
        if text and (braced := templates.grafana_braced(text))
    ]
    out += [source.diagnostic((*at, *path), Code.INVALID_VALUE, why) for path, why in problems]


def check_file(model: SloFile, source: SourceMap) -> tuple[CheckedFile | None, list[Diagnostic]]:
    """Resolve every SLO of a file; None if any problem was found."""
    out: list[Diagnostic] = []
    checked = []
    names: dict[str, int] = {}
    scrape_interval = parse_duration(model.scrape_interval)
    for i, slo in enumerate(model.slos):
        at = ("slos", i)
        if slo.name in names:
            line, col = source.position(("slos", names[slo.name], "name"))
            out.append(
                source.diagnostic(
                    (*at, "name"),
                    Code.DUPLICATE_SLO,
                    f"SLO '{slo.name}' is already defined at line {line}, column {col}",
                )
            )
        names.setdefault(slo.name, i)
        query = None
        try:
            query = resolve(slo.sli)
        except SliError as err:
            out.extend(
                source.diagnostic((*at, "sli", *path), e.code, str(e)) for path, e in err.problems
            )
        tiers = _tiers(slo, scrape_interval, at, source, out)
        _labels(slo, model.labels, at, source, out)
        _templates(slo, at, source, out)
        if query is not None and tiers is not None:
            checked.append(CheckedSlo(slo, i, query, tiers))
    if out:
        return None, out
    return CheckedFile(model, source, checked), []
