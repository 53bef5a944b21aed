"""Checks that span fields or files, run after the model accepted each file's shape.

Each check reports at the position of the field at fault and carries on, so a file with
five mistakes shows five errors. What the checks resolve on the way (parsed selectors,
the tiers for the period) is returned, so planning never parses or derives anything twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import burnrate
from .burnrate import Tier, TierOverride, WindowError, decimal_str
from .diagnostics import Code, Diagnostic
from .durations import parse_duration
from .model import Slo, SloFile
from .sli import SliError, SliQuery, resolve
from .yamlpos import SourceMap


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
            for_=o.for_ and parse_duration(o.for_),
        )
        for name, o in slo.alerting.tiers.items()
    }


def _tiers(
    slo: Slo, scrape_interval: int, at: tuple, source: SourceMap, out: list[Diagnostic]
) -> list[Tier] | None:
    try:
        tiers = burnrate.plan_tiers(parse_duration(slo.period), scrape_interval, _overrides(slo))
    except WindowError as err:
        for p in err.problems:
            where = (*at, "period") if p.field == "period" else (*at, "alerting", "tiers", p.tier)
            field = () if p.field == "period" else (p.field,)
            out.append(
                source.diagnostic((*where, *field), Code.WINDOW, f"tier {p.tier}: {p.message}")
            )
        return None
    objective = burnrate.to_decimal(slo.objective)
    budget = burnrate.error_budget(objective)
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
    return tiers


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
        if query is not None and tiers is not None:
            checked.append(CheckedSlo(slo, i, query, tiers))
    if out:
        return None, out
    return CheckedFile(model, source, checked), []


def check_unique(files: list[CheckedFile]) -> list[Diagnostic]:
    """SLO ids (service + name) must be unique across all files: they are the identity of
    every recorded series, and two definitions would silently merge their data."""
    first: dict[tuple[str, str], tuple[str, int, int]] = {}
    out = []
    for checked in files:
        for c in checked.slos:
            key = (checked.model.service, c.slo.name)
            loc = ("slos", c.index, "name")
            if key in first and first[key][0] != checked.source.path:
                path, line, col = first[key]
                out.append(
                    checked.source.diagnostic(
                        loc,
                        Code.DUPLICATE_SLO,
                        f"SLO '{key[1]}' of service '{key[0]}' is already defined at "
                        f"{path}:{line}:{col}",
                    )
                )
            else:
                first.setdefault(key, (checked.source.path, *checked.source.position(loc)))
    return out
