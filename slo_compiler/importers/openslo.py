"""OpenSLO: `openslo/v1` SLOs with inline or referenced SLIs and alert policies, and the
`openslo/v1alpha` SLOs Sloth reads (ratioMetrics with `{{.window}}` queries).

Objects refer to each other by name across every input given (an SLO in one file, its SLI
and AlertPolicy in others). What maps:

* ratioMetric (good or bad, and total) whose queries are plain counter selectors, or the
  `sum(rate(selector[{{.window}}]))` shape -> a ratio SLI;
* thresholdMetric over a histogram bucket series with an objective `op: lt|lte` and a
  `value` -> a latency SLI (the value must be a bucket boundary, as always here);
* a rolling `timeWindow` of 1d to 90d -> the period; `budgetingMethod: Occurrences`;
* each objective -> one SLO (named after the SLO, plus the objective's name when there
  are several);
* burn-rate AlertConditions -> tier overrides: page severities onto page-fast and
  page-slow, the others onto the ticket tiers (higher threshold first), lookbackWindow the
  long window, threshold the factor, alertAfter the `for`. OpenSLO conditions have one
  window: the tier adds its short window (long / 12), reported. Tiers no condition maps
  to are disabled: the policy is what should page. A lone condition of a severity takes
  the tier whose workbook factor is nearest its threshold.
"""

from __future__ import annotations

import re
from typing import Any

from ..base.durations import format_duration as dur
from ..base.durations import parse_duration
from ..base.tiers import TIER_NAMES, WORKBOOK_TIERS, tiers_of
from ..diagnostics import Code, Diagnostic
from ..source.yamlpos import Document, Path, items
from .base import (
    Findings,
    Imported,
    get,
    labels,
    mapping,
    name,
    objective,
    period,
    rate_sum,
    selector,
    sequence,
    unknown_fields,
)

WINDOW = "{{.window}}"
V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
PAGE_SEVERITIES = {"page", "critical", "high", "p1", "sev1"}
TIERS = {severity: tiers_of(severity) for severity in ("page", "ticket")}
WORKBOOK_FACTORS = {t.name: float(t.factor) for t in WORKBOOK_TIERS}
_UNITS = {"minute": "m", "hour": "h", "day": "d", "week": "w"}


class _Objects:
    """Every OpenSLO object of the inputs by kind and name, with the findings of its file."""

    def __init__(self, docs: list[Document]) -> None:
        self.findings = [Findings(item) for doc in docs for item in items(doc)]
        self.by_kind: dict[str, dict[str, tuple[Any, Findings]]] = {}
        for f in self.findings:
            data = f.doc.data
            if not (isinstance(data, dict) and data.get("apiVersion") in (V1, V1ALPHA)):
                version = data.get("apiVersion") if isinstance(data, dict) else None
                f.error(
                    ("apiVersion",) if version else (),
                    f"OpenSLO {version} is not supported here: {V1} and {V1ALPHA} are"
                    if isinstance(version, str) and "openslo" in version
                    else f"not an OpenSLO object: expected apiVersion {V1}",
                    Code.IMPORT_NOT_A_SPEC,
                )
                continue
            kind = str(data.get("kind"))
            self.by_kind.setdefault(kind, {})[str(get(data, "metadata", "name"))] = (data, f)

    def ref(
        self, kind: str, ref: Any, findings: Findings, loc: Path
    ) -> tuple[Any, Findings] | None:
        found = self.by_kind.get(kind, {}).get(str(ref))
        if found is None:
            findings.error(loc, f"no {kind} named {ref!r} among the inputs: give its file too")
        return found


def convert(docs: list[Document], _service: str | None) -> tuple[list[Imported], list[Diagnostic]]:
    objects = _Objects(docs)
    imported: list[Imported] = []
    for kind, named in objects.by_kind.items():
        for data, findings in named.values():
            if kind == "SLO":
                imported += _slo(objects, data, findings)
            elif kind not in (
                "SLI",
                "AlertPolicy",
                "AlertCondition",
                "Service",
                "DataSource",
                "AlertNotificationTarget",
            ):
                findings.error(("kind",), f"unknown OpenSLO kind {kind!r}", Code.IMPORT_NOT_A_SPEC)
            elif kind in ("Service", "DataSource", "AlertNotificationTarget"):
                findings.dropped(
                    ("kind",),
                    f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}",
                    "services are named by the SLOs, data sources are this Prometheus, and "
                    "notification targets are the config's receivers",
                )
    kinds = sorted(objects.by_kind)
    if kinds and "SLO" not in kinds:  # parts only: what do they belong to?
        objects.findings[0].error(
            (),
            f"no SLO among the inputs, only {', '.join(kinds)}: objects an SLO refers to; "
            "import them together with the SLO files",
            Code.IMPORT_NOT_A_SPEC,
        )
    return imported, [d for f in objects.findings for d in f.found]


_CALENDAR_UNITS = re.compile(r"([0-9]+)([MQY])")
_CALENDAR_DAYS = {"M": 30, "Q": 90, "Y": 365}
_CALENDAR_NAMES = {"M": "month", "Q": "quarter", "Y": "year"}


def _window(findings: Findings, spec: dict[str, Any]) -> str | None:
    if "timeWindows" in spec:  # v1alpha
        window = mapping(
            findings, get(spec, "timeWindows", 0), ("spec", "timeWindows", 0), "timeWindows"
        )
        count, unit = window.get("count"), _UNITS.get(str(window.get("unit", "")).lower())
        text = f"{count}{unit}" if isinstance(count, int) and unit else None
        at: Path = ("spec", "timeWindows", 0)
    else:
        window = mapping(
            findings, get(spec, "timeWindow", 0), ("spec", "timeWindow", 0), "timeWindow"
        )
        text, at = window.get("duration"), ("spec", "timeWindow", 0)
    if window.get("isRolling") is False or "calendar" in window:
        findings.error(
            at, "calendar windows are not supported here: SLOs are over a rolling period"
        )
        return None
    if text is None:
        findings.error(at, "the SLO needs a rolling time window (e.g. duration: 28d)")
        return None
    calendar = _CALENDAR_UNITS.fullmatch(str(text))
    if calendar:  # OpenSLO's months, quarters, years: no fixed length
        days = int(calendar[1]) * _CALENDAR_DAYS[calendar[2]]
        findings.warn(
            (*at, "duration") if "duration" in window else at,
            Code.IMPORT_CHANGED,
            f"a rolling {text} has no fixed length; here it is {days}d "
            f"({_CALENDAR_DAYS[calendar[2]]} days a {_CALENDAR_NAMES[calendar[2]]})",
        )
        text = f"{days}d"
    return period(findings, text, at)


_SLO_FIELDS = {
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "timeWindows",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
}


def _objectives(spec: dict[str, Any], findings: Findings) -> list[Any] | None:
    """The SLO's objectives, or None where there are none, or where they are a composite
    SLO's (each objective an SLI of its own, weighted into one budget)."""
    objectives = spec.get("objectives") or []
    if not isinstance(objectives, list) or not objectives:
        findings.error(("spec", "objectives"), "the SLO needs at least one objective")
        return None
    composite = [
        i
        for i, t in enumerate(objectives)
        if isinstance(t, dict) and {"compositeWeight", "indicator", "indicatorRef"} & set(t)
    ]
    for i in composite:
        findings.error(
            ("spec", "objectives", i),
            "a composite SLO (objectives with SLIs of their own, weighted into one "
            "budget) has no equivalent here: write each objective as an SLO of its own",
        )
    return None if composite else objectives


def _shown(data: dict[str, Any], spec: dict[str, Any], findings: Findings) -> Any:
    """The description, else the display name (where a UI shows it): what people read."""
    display = get(data, "metadata", "displayName")
    if display and spec.get("description"):
        findings.dropped(
            ("metadata", "displayName"), "metadata.displayName", "the description is kept"
        )
    return spec.get("description") or display


def _suffix(findings: Findings, target: Any, at: Path, i: int, count: int) -> str:
    """What tells an SLO of several objectives from the others: the objective's name."""
    if count <= 1:
        return ""
    given = name(
        findings, target.get("displayName") or str(i + 1), (*at, "displayName"), "objective name"
    )
    return "-" + (given or str(i + 1))


def _slo(objects: _Objects, data: dict[str, Any], findings: Findings) -> list[Imported]:
    spec = mapping(findings, data.get("spec"), ("spec",), "spec")
    unknown_fields(findings, data, (), {"apiVersion", "kind", "metadata", "spec"})
    unknown_fields(findings, spec, ("spec",), _SLO_FIELDS)
    # Every unsupported feature of the SLO is named at once: refusing at the first would
    # send its author back for each of them in turn.
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        findings.error(
            ("spec", "budgetingMethod"),
            f"budgetingMethod {method!r} is not supported: SLOs here count events (Occurrences)",
        )
    service = name(findings, spec.get("service"), ("spec", "service"), "service")
    base = name(findings, get(data, "metadata", "name"), ("metadata", "name"), "SLO name")
    slo_labels = _labels(findings, get(data, "metadata", "labels"))
    days = _window(findings, spec)
    indicator = _indicator(objects, spec, findings)
    alerting = _alerting(objects, spec.get("alertPolicies") or [], findings)
    if indicator is None and "indicatorRef" in spec:
        return []  # said where the reference is: no SLI of that name among the inputs
    objectives = _objectives(spec, findings)
    if objectives is None or method != "Occurrences":
        return []
    shown = _shown(data, spec, findings)
    out = []
    for i, target in enumerate(objectives):
        at: Path = ("spec", "objectives", i)
        entry = _objective(findings, target, at, indicator, days)
        if entry is None or service is None or base is None:
            continue
        suffix = _suffix(findings, target, at, i, len(objectives))
        entry = {"name": f"{base}{suffix}"[:63].strip("-"), **entry}
        if shown:
            entry = {"name": entry.pop("name"), "description": str(shown).strip(), **entry}
        if slo_labels:
            entry["labels"] = slo_labels
        if alerting:
            entry["alerting"] = alerting
        out.append(Imported(service, {}, entry, findings, at))
    return out


def _labels(findings: Findings, value: Any) -> dict[str, str]:
    """OpenSLO labels may hold a list of values; one value is what a Prometheus label holds."""
    flat: dict[str, Any] = {}
    for key, raw in mapping(findings, value, ("metadata", "labels"), "labels").items():
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        flat[key] = raw
    return labels(findings, flat, ("metadata", "labels"), "openslo")


def _indicator(
    objects: _Objects, spec: dict[str, Any], findings: Findings
) -> tuple[Any, Findings, Path] | None:
    """The SLI object's spec (inline, referenced or v1alpha's objective-level metrics)."""
    if "indicatorRef" in spec:
        found = objects.ref("SLI", spec["indicatorRef"], findings, ("spec", "indicatorRef"))
        return (get(found[0], "spec"), found[1], ("spec",)) if found else None
    indicator = spec.get("indicator")
    if isinstance(indicator, dict) and "spec" in indicator:
        return indicator["spec"], findings, ("spec", "indicator", "spec")
    if isinstance(indicator, dict):  # v1alpha: the metric right under spec.indicator
        return indicator, findings, ("spec", "indicator")
    return None  # v1alpha: the metrics are on each objective


def _query(findings: Findings, metric: Any, at: Path) -> tuple[str | None, list[str]]:
    """A counter's selector from a metric source: a plain selector, or the
    `sum(rate(selector[{{.window}}]))` shape (v1alpha, as Sloth writes it)."""
    source = mapping(findings, get(metric, "metricSource") or metric, at, "metric source")
    query = get(source, "spec", "query") if "spec" in source else source.get("query")
    where = (*at, "metricSource", "spec", "query") if "spec" in source else (*at, "query")
    kind = str(source.get("type") or source.get("source") or "prometheus").lower()
    if kind != "prometheus":
        findings.error((*at,), f"metric source {kind!r} is not Prometheus")
        return None, []
    if isinstance(query, str) and WINDOW in query:
        shape = rate_sum(query, WINDOW)
        if shape is None:
            findings.error(
                where, "only sum(rate(selector[{{.window}}])) queries map to a ratio SLI here"
            )
            return None, []
        return shape.selector.render(), list(shape.by)
    found = selector(findings, query, where)
    return (found.render() if found else None), []


def _ratio(findings: Findings, ratio: Any, at: Path) -> dict[str, Any] | None:
    ratio = mapping(findings, ratio, at, "the ratio metric")
    if ratio.get("counter") is False:
        findings.error(
            (*at, "counter"), "ratios of gauges are not supported: the SLI needs counters"
        )
        return None
    unknown_fields(findings, ratio, at, {"counter", "good", "bad", "total"})
    total, by_total = _query(findings, ratio.get("total"), (*at, "total"))
    kind = "bad" if "bad" in ratio else "good"
    part, by_part = _query(findings, ratio.get(kind), (*at, kind))
    if total is None or part is None:
        return None
    if by_total != by_part:
        findings.error(at, "the good/bad and total queries group by different labels")
        return None
    sli: dict[str, Any] = {"ratio": {"errors" if kind == "bad" else "good": part, "total": total}}
    if by_total:
        sli["group_by"] = by_total
    return sli


def _objective(
    findings: Findings,
    target: Any,
    at: Path,
    indicator: tuple[Any, Findings, Path] | None,
    days: str | None,
) -> dict[str, Any] | None:
    if not isinstance(target, dict):
        findings.error(at, "an objective must be a mapping")
        return None
    unknown_fields(
        findings,
        target,
        at,
        {"displayName", "target", "targetPercent", "op", "value", "ratioMetrics", "ratioMetric"},
    )
    if "targetPercent" in target:
        goal = objective(findings, target["targetPercent"], (*at, "targetPercent"))
    else:
        goal = objective(findings, target.get("target"), (*at, "target"), scale=100)
    sli = None
    if "ratioMetrics" in target:  # v1alpha
        sli = _ratio(findings, target["ratioMetrics"], (*at, "ratioMetrics"))
    elif indicator is not None and isinstance(indicator[0], dict):
        body, where_findings, where = indicator
        if "ratioMetric" in body:
            sli = _ratio(where_findings, body["ratioMetric"], (*where, "ratioMetric"))
        elif "thresholdMetric" in body:
            sli = _latency(
                where_findings,
                body["thresholdMetric"],
                (*where, "thresholdMetric"),
                findings,
                target,
                at,
            )
        else:
            where_findings.error(where, "the SLI needs a ratioMetric or a thresholdMetric")
    else:
        findings.error(at, "no SLI: give spec.indicator or spec.indicatorRef")
    if sli is None or goal is None or days is None:
        return None
    group_by = sli.pop("group_by", None)
    entry: dict[str, Any] = {"objective": goal, "period": days, "sli": sli}
    if group_by:
        entry["group_by"] = group_by
    return entry


def _latency(
    findings: Findings,
    metric: Any,
    at: Path,
    slo_findings: Findings,
    target: dict[str, Any],
    target_at: Path,
) -> dict[str, Any] | None:
    """thresholdMetric on `x_bucket{...}` with `op: lt|lte` and `value` -> latency x{...}."""
    query, _ = _query(findings, metric, at)
    if query is None:
        return None
    found = selector(findings, query, at)
    if found is None or not found.metric.endswith("_bucket"):
        findings.error(
            at, "a thresholdMetric maps to a latency SLI only over a histogram's _bucket series"
        )
        return None
    if target.get("op") not in ("lt", "lte") or not isinstance(target.get("value"), int | float):
        slo_findings.error(
            target_at, "a latency objective needs op: lt or lte and a numeric value (seconds)"
        )
        return None
    if target["op"] == "lt":
        slo_findings.warn(
            (*target_at, "op"),
            Code.IMPORT_CHANGED,
            "op lt counts events at the threshold as bad; histogram buckets count them as "
            "good (le)",
        )
    rest = tuple(m for m in found.matchers if m.name != "le")
    histogram = type(found)(found.metric.removesuffix("_bucket"), rest).render()
    return {"latency": {"histogram": histogram, "threshold": target["value"]}}


def _alerting(objects: _Objects, policies: list[Any], findings: Findings) -> dict[str, Any]:
    """Burn-rate conditions of the SLO's alert policies -> tier overrides. No policy, no
    alert (as the spec says; Sloth's OpenSLO import does the same): all tiers disabled."""
    if not policies:
        return {"tiers": {t: {"enabled": False} for t in TIER_NAMES}}
    conditions: dict[str, list[tuple[float, dict[str, Any]]]] = {"page": [], "ticket": []}
    for i, policy in enumerate(
        sequence(findings, policies, ("spec", "alertPolicies"), "alertPolicies")
    ):
        at: Path = ("spec", "alertPolicies", i)
        where, body = findings, policy
        if isinstance(policy, str) or (isinstance(policy, dict) and "alertPolicyRef" in policy):
            ref = policy if isinstance(policy, str) else policy["alertPolicyRef"]
            found = objects.ref("AlertPolicy", ref, findings, at)
            if found is None:
                continue
            body, where, at = found[0], found[1], ()
        spec = mapping(where, get(body, "spec"), (*at, "spec"), "spec")
        unknown_fields(
            where,
            spec,
            (*at, "spec"),
            {
                "description",
                "conditions",
                "alertWhenBreaching",
                "alertWhenResolved",
                "alertWhenNoData",
                "notificationTargets",
            },
        )
        if spec.get("notificationTargets"):
            where.dropped(
                (*at, "spec", "notificationTargets"),
                "notificationTargets",
                "routing is the config's receivers and policies here",
            )
        conditions_at = (*at, "spec", "conditions")
        for j, cond in enumerate(
            sequence(where, spec.get("conditions"), conditions_at, "conditions")
        ):
            _condition(objects, where, cond, (*at, "spec", "conditions", j), conditions)
    tiers: dict[str, Any] = {}
    for severity, found in conditions.items():
        names = TIERS[severity]
        if len(found) == 1:  # the tier whose workbook factor is nearest
            names = (min(names, key=lambda t: abs(WORKBOOK_FACTORS[t] - found[0][0])),)
        for tier, (_, options) in zip(names, sorted(found, key=lambda c: -c[0]), strict=False):
            tiers[tier] = options
    return {"tiers": {t: tiers.get(t, {"enabled": False}) for t in TIER_NAMES}}


def _condition(
    objects: _Objects,
    findings: Findings,
    cond: Any,
    at: Path,
    into: dict[str, list[tuple[float, dict[str, Any]]]],
) -> None:
    if isinstance(cond, dict) and "conditionRef" in cond:
        found = objects.ref("AlertCondition", cond["conditionRef"], findings, (*at, "conditionRef"))
        if found is None:
            return
        cond, findings, at = found[0], found[1], ()
    spec = mapping(findings, get(cond, "spec"), (*at, "spec"), "spec")
    where = (*at, "spec", "condition")
    rule = mapping(findings, spec.get("condition"), where, "condition")
    if str(rule.get("kind", "")).lower() != "burnrate" or rule.get("op") not in ("gt", "gte"):
        findings.error(
            where, "only burn-rate conditions (kind: burnrate, op: gt or gte) map to alerts here"
        )
        return
    factor, window = rule.get("threshold"), rule.get("lookbackWindow")
    try:
        long_seconds = parse_duration(str(window))
    except ValueError:
        findings.error((*where, "lookbackWindow"), f"lookbackWindow {window!r} is not a duration")
        return
    if not isinstance(factor, int | float) or factor <= 0:
        findings.error((*where, "threshold"), "threshold must be a positive burn rate")
        return
    severity = "page" if str(spec.get("severity", "")).lower() in PAGE_SEVERITIES else "ticket"
    if len(into[severity]) == 2:
        findings.dropped(
            at, f"a third {severity} condition", f"dropped (there are two {severity} tiers)"
        )
        return
    options: dict[str, Any] = {"long_window": str(window), "factor": factor}
    if rule.get("alertAfter"):
        options["for"] = str(rule["alertAfter"])
    findings.warn(
        (*where, "lookbackWindow"),
        Code.IMPORT_CHANGED,
        f"one window in OpenSLO; the tier also needs its short window, {dur(long_seconds // 12)} "
        "(a twelfth) by default, to stop alerting soon after an outage ends",
    )
    into[severity].append((float(factor), options))
