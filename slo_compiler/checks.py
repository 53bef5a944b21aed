"""Checks that span fields or files, run after the model accepted each file's shape.

Each check reports at the position of the field at fault and carries on, so a file with
five mistakes shows five errors. What the checks resolve on the way (parsed selectors,
the tiers for the period) is returned, so planning never parses or derives anything twice.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from . import buckets, burnrate, templates
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
    for path, text in fields:
        bad = text and templates.unsupported(text)
        if bad:
            out.append(
                source.diagnostic(
                    (*at, *path),
                    Code.INVALID_VALUE,
                    f"template {bad} is not supported in annotations: use {templates.SUPPORTED}",
                )
            )


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


def _clashes(
    files: list[CheckedFile],
    key: Callable[[CheckedFile, CheckedSlo], Hashable],
    loc: Callable[[CheckedSlo], tuple[str | int, ...]],
    across_files_only: bool,
) -> list[tuple[CheckedFile, tuple[str | int, ...], str]]:
    """Every SLO whose key an earlier SLO already has: (file, location, where the first is)."""
    first: dict[Hashable, tuple[str, int, int]] = {}
    out = []
    for checked in files:
        for c in checked.slos:
            k, at = key(checked, c), loc(c)
            if k in first and not (across_files_only and first[k][0] == checked.source.path):
                path, line, col = first[k]
                out.append((checked, at, f"{path}:{line}:{col}"))
            else:
                first.setdefault(k, (checked.source.path, *checked.source.position(at)))
    return out


def check_unique(files: list[CheckedFile]) -> list[Diagnostic]:
    """Names that must be unique across all files. A service has one file: its dashboard
    (uid from the service) and Grafana folder are per service. SLO ids (service + name)
    are the identity of every recorded series: two definitions would silently merge their
    data. Alert names within a service: its generated tests and its Grafana folder cannot
    tell two SLOs' alerts of one name apart (across services, slo_service does)."""
    out = []
    services: dict[str, CheckedFile] = {}
    for checked in files:
        first = services.setdefault(checked.model.service, checked)
        if first is not checked:
            out.append(
                checked.source.diagnostic(
                    ("service",),
                    Code.OUTPUT_CLASH,
                    f"service '{checked.model.service}' already has its SLO file, "
                    f"{first.source.path}: put all of a service's SLOs in one file (its "
                    "dashboard and Grafana folder are per service)",
                )
            )
    duplicates = _clashes(
        files,
        lambda f, c: (f.model.service, c.slo.name),
        lambda c: ("slos", c.index, "name"),
        across_files_only=True,  # within a file, check_file reports it
    )
    for checked, at, where in duplicates:
        slo = checked.model.slos[at[1]]  # type: ignore[index]
        out.append(
            checked.source.diagnostic(
                at,
                Code.DUPLICATE_SLO,
                f"SLO '{slo.name}' of service '{checked.model.service}' is already defined "
                f"at {where}",
            )
        )
    # A duplicated SLO clashes on its alert name too; once is enough to say so.
    seen = {(checked.source.path, at[1]) for checked, at, _ in duplicates}
    unique = [
        CheckedFile(f.model, f.source, [c for c in f.slos if (f.source.path, c.index) not in seen])
        for f in files
    ]
    for checked, at, where in _clashes(
        unique,
        lambda f, c: (f.model.service, c.slo.alert_name),
        lambda c: (
            ("slos", c.index, "alerting", "name")
            if c.slo.alerting.name
            else ("slos", c.index, "name")
        ),
        across_files_only=False,
    ):
        slo = checked.model.slos[at[1]]  # type: ignore[index]
        out.append(
            checked.source.diagnostic(
                at,
                Code.ALERT_NAME_CLASH,
                f"alert name '{slo.alert_name}' is already used by an SLO of service "
                f"'{checked.model.service}' at {where}; set alerting.name",
            )
        )
    return out


def check_buckets(files: list[CheckedFile], configured: dict[str, list[float]]) -> list[Diagnostic]:
    """A latency threshold must be a bucket boundary the histogram publishes, where those
    are known (see buckets): otherwise `le="<threshold>"` matches nothing."""
    out = []
    for checked in files:
        for c in checked.slos:
            latency = c.slo.sli.latency
            if latency is None:
                continue
            metric = c.query.total.metric.removesuffix("_count")  # type: ignore[union-attr]
            known = buckets.published(metric, configured)
            threshold = burnrate.to_decimal(latency.threshold)
            if known is None or threshold in known:
                continue
            around = " and ".join(decimal_str(b) for b in buckets.nearest(threshold, known))
            how = (
                "management.metrics.distribution.slo.http.server.requests="
                f"{decimal_str(threshold * 1000)}ms in the service's Spring config"
                if metric == buckets.MICROMETER_HTTP_SERVER
                else "a bucket at it"
            )
            out.append(
                checked.source.diagnostic(
                    ("slos", c.index, "sli", "latency", "threshold"),
                    Code.UNPUBLISHED_BUCKET,
                    f"threshold {decimal_str(threshold)}s is not a bucket boundary of {metric} "
                    f"(the nearest it publishes: {around}), so no bucket counts the good "
                    f"events: use one of those, or publish {decimal_str(threshold)}s ({how}) "
                    "and list it under histogram_buckets in the config",
                )
            )
    return out
