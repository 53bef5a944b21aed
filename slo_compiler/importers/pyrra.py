"""Pyrra's `pyrra.dev/v1alpha1` `ServiceLevelObjective` CRD.

Pyrra has no services: an SLO's service is `--service`, else its namespace (where Pyrra
users keep a team's SLOs), else `default`. Labels and annotations prefixed `pyrra.dev/`
are what Pyrra puts on its rules and alerts; they become ours. Pyrra's own alert windows
(14x, 7x, 2x, 1x, scaled from 28d) are not part of its spec: the imported SLO gets this
tool's workbook tiers for its period, like any SLO written here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..base.tiers import TIER_NAMES
from ..diagnostics import Code, Diagnostic
from ..rules.burnrate import decimal_str
from ..source.model import default_alert_name
from ..source.yamlpos import Document, Path
from .base import (
    Findings,
    Imported,
    alert_name,
    get,
    labels,
    mapping,
    name,
    objective,
    period,
    selector,
    unknown_fields,
)

API = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"
PREFIX = "pyrra.dev/"
# Kubernetes' label for the Prometheus that loads Pyrra's PrometheusRule, and the like:
# about deploying Pyrra's output, not about the SLO.
_DEPLOYMENT_LABELS = ("prometheus", "role")


def convert(docs: list[Document], service: str | None) -> tuple[list[Imported], list[Diagnostic]]:
    imported: list[Imported] = []
    found: list[Diagnostic] = []
    for doc in docs:
        findings = Findings(doc)
        entry = _slo(findings, doc.data, service)
        if entry is not None:
            imported.append(entry)
        found += findings.found
    return imported, found


def _prefixed(findings: Findings, values: Any, at: Path, what: str) -> dict[str, str]:
    """`pyrra.dev/x: v` -> `x: v`; the others reported as dropped."""
    out = {}
    values = mapping(findings, values, at, f"{what}s")
    for key, value in values.items():
        if isinstance(key, str) and key.startswith(PREFIX):
            out[key.removeprefix(PREFIX)] = value
        elif key not in _DEPLOYMENT_LABELS:
            findings.dropped(
                (*at, key),
                f"{what} '{key}'",
                f"dropped (only {PREFIX}* {what}s reach Pyrra's rules)",
            )
    deploy = [k for k in _DEPLOYMENT_LABELS if k in values]
    if deploy:
        findings.dropped(
            (*at, deploy[0]),
            f"{what}s {', '.join(deploy)}",
            "dropped (they select the PrometheusRule Pyrra writes; rule files here are "
            "loaded by path)",
        )
    return out


def _slo(findings: Findings, data: Any, service: str | None) -> Imported | None:
    if not (isinstance(data, dict) and data.get("apiVersion") == API and data.get("kind") == KIND):
        findings.error(
            (), f"not a Pyrra SLO: expected apiVersion {API}, kind {KIND}", Code.IMPORT_NOT_A_SPEC
        )
        return None
    unknown_fields(findings, data, (), {"apiVersion", "kind", "metadata", "spec", "status"})
    meta = mapping(findings, data.get("metadata"), ("metadata",), "metadata")
    spec = mapping(findings, data.get("spec"), ("spec",), "spec")
    unknown_fields(findings, meta, ("metadata",), {"name", "namespace", "labels", "annotations"})
    unknown_fields(
        findings,
        spec,
        ("spec",),
        {"description", "target", "window", "indicator", "alerting"},
        "dropped (partial_response_strategy is for Thanos' ruler)",
    )
    owner = service or meta.get("namespace") or "default"
    svc = name(findings, owner, ("metadata", "namespace"), "service")
    rule_labels = labels(
        findings,
        _prefixed(findings, meta.get("labels"), ("metadata", "labels"), "label"),
        ("metadata", "labels"),
        "pyrra",
    )
    notes = _prefixed(findings, meta.get("annotations"), ("metadata", "annotations"), "annotation")
    entry: dict[str, Any] = {
        "name": name(findings, meta.get("name"), ("metadata", "name"), "SLO name")
    }
    if spec.get("description"):
        entry["description"] = str(spec["description"]).strip()
    entry["objective"] = objective(findings, spec.get("target"), ("spec", "target"))
    entry["period"] = period(findings, spec.get("window"), ("spec", "window"))
    sli, group_by = _indicator(findings, spec.get("indicator"), ("spec", "indicator"))
    entry["sli"] = sli
    if group_by:
        entry["group_by"] = group_by
    if rule_labels:
        entry["labels"] = rule_labels
    where = ("spec", "alerting")
    alerting = _alerting(
        findings, mapping(findings, spec.get("alerting"), where, "alerting"), where, notes
    )
    if alerting:
        entry["alerting"] = alerting
    if svc is None or None in (entry["name"], entry["objective"], entry["period"], sli):
        return None
    if "name" not in alerting and not _all_off(alerting):
        ours = default_alert_name(str(entry["name"]))
        findings.warn(
            where if "alerting" in spec else ("metadata", "name"),
            Code.IMPORT_CHANGED,
            f"Pyrra names every SLO's burn alert ErrorBudgetBurn; here an alert name is one "
            f"SLO's, {ours}: routes and silences on alertname=ErrorBudgetBurn must name it "
            f'(or match slo="{entry["name"]}")',
        )
    return Imported(svc, {}, entry, findings, ())


def _grouping(findings: Findings, indicator: dict[str, Any], at: Path) -> list[str]:
    grouping = indicator.get("grouping") or []
    if not isinstance(grouping, list) or not all(isinstance(g, str) for g in grouping):
        findings.error((*at, "grouping"), "grouping must be a list of label names")
        return []
    return list(grouping)


def _indicator(
    findings: Findings, indicator: Any, at: Path
) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(indicator, dict) or not indicator:
        findings.error(at, "the SLO needs an indicator: ratio, latency or bool_gauge")
        return None, []
    kind = next(iter(indicator))
    where = (*at, kind)
    body = indicator[kind] if isinstance(indicator[kind], dict) else {}
    if len(indicator) > 1:
        findings.error(at, "give one indicator: ratio, latency or bool_gauge")
        return None, []
    if kind == "ratio":
        unknown_fields(findings, body, where, {"errors", "total", "grouping"})
        errors = selector(findings, get(body, "errors", "metric"), (*where, "errors", "metric"))
        total = selector(findings, get(body, "total", "metric"), (*where, "total", "metric"))
        if errors is None or total is None:
            return None, []
        return {"ratio": {"errors": errors.render(), "total": total.render()}}, _grouping(
            findings, body, where
        )
    if kind == "latency":
        unknown_fields(findings, body, where, {"success", "total", "grouping"})
        return _latency(findings, body, where), _grouping(findings, body, where)
    if kind in ("bool_gauge", "boolGauge"):
        unknown_fields(findings, body, where, {"metric", "grouping"})
        gauge = selector(findings, body.get("metric"), (*where, "metric"))
        if gauge is None:
            return None, []
        findings.warn(
            where,
            Code.IMPORT_RAW_SLI,
            "a bool gauge is a raw SLI here (the share of samples that are 0), whose burn "
            "alerts the generated tests cannot exercise",
        )
        query = gauge.render()
        by = _grouping(findings, body, where)
        # Grouped as Pyrra groups it: one SLO, burn rate and alert per target, so one dead
        # probe among 200 alerts instead of hiding in a fleet-wide 0.5%.
        sums = f"sum by ({', '.join(by)}) " if by else "sum"
        ratio = (
            f"1 - {sums}(sum_over_time({query}[{{{{window}}}}]))\n"
            f"/ {sums}(count_over_time({query}[{{{{window}}}}]))"
        )
        return {"raw": {"error_ratio": ratio}}, by
    if kind == "latencyNative":
        unknown_fields(findings, body, where, {"latency", "total", "grouping"})
        return _native(findings, body, where), _grouping(findings, body, where)
    findings.error(where, f"unknown indicator '{kind}': ratio, latency or bool_gauge")
    return None, []


def _latency(findings: Findings, body: dict[str, Any], at: Path) -> dict[str, Any] | None:
    """success `x_bucket{..., le="T"}` and total `x_count{...}` -> histogram x{...}, T;
    a total of other matchers or another metric -> the ratio of the two selectors."""
    success = selector(findings, get(body, "success", "metric"), (*at, "success", "metric"))
    total = selector(findings, get(body, "total", "metric"), (*at, "total", "metric"))
    if success is None or total is None:
        return None
    le = [m for m in success.matchers if m.name == "le" and m.op == "="]
    base = success.metric.removesuffix("_bucket")
    if not le or base == success.metric:
        findings.error(
            (*at, "success", "metric"), 'expected a histogram bucket: metric_bucket{..., le="0.5"}'
        )
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        findings.error((*at, "success", "metric"), f"le {le[0].value!r} is not a number")
        return None
    rest = tuple(m for m in success.matchers if m.name != "le")
    if total.metric != f"{base}_count" or set(total.matchers) != set(rest):
        # Not the histogram's own count (nginx's example: 5xx requests under 1s over every
        # request): Pyrra's ratio of the two selectors as written is a ratio SLI, exactly.
        return {"ratio": {"good": success.render(), "total": total.render()}}
    histogram = type(success)(base, rest).render()
    return {
        "latency": {
            "histogram": histogram,
            "threshold": int(threshold) if threshold.is_integer() else threshold,
        }
    }


_PROM_DURATION = re.compile(r"^(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def _seconds(text: str) -> float | None:
    """A Prometheus duration under an hour (Pyrra's latency: 200ms, 1s, 1m30s) in seconds."""
    found = _PROM_DURATION.match(text.strip())
    if not text.strip() or found is None:
        return None
    minutes, seconds, millis = (int(g or 0) for g in found.groups())
    return minutes * 60 + seconds + millis / 1000


def _native(findings: Findings, body: dict[str, Any], at: Path) -> dict[str, Any] | None:
    """A native histogram's latency: the share of requests over the threshold as Pyrra
    computes it, `1 - histogram_fraction(0, T, sum(rate(h[W])))`, as a raw SLI (this
    format's latency SLI counts a classic histogram's buckets)."""
    total = selector(findings, get(body, "total", "metric"), (*at, "total", "metric"))
    latency = body.get("latency")
    threshold = _seconds(latency) if isinstance(latency, str) else None
    if threshold is None:
        findings.error((*at, "latency"), "expected a latency such as 200ms or 1s")
    if total is None or threshold is None:
        return None
    findings.warn(
        at,
        Code.IMPORT_RAW_SLI,
        "a native histogram's latency is a raw SLI here (histogram_fraction of the rate), "
        "whose burn alerts the generated tests cannot exercise",
    )
    by = _grouping(findings, body, at)
    sums = f"sum by ({', '.join(by)}) " if by else "sum"
    bound = decimal_str(Decimal(str(threshold)))
    rate = f"{sums}(rate({total.render()}[{{{{window}}}}]))"
    return {"raw": {"error_ratio": f"1 - histogram_fraction(0, {bound}, {rate})"}}


def _all_off(alerting: dict[str, Any]) -> bool:
    tiers = alerting.get("tiers", {})
    return bool(tiers) and all(t.get("enabled") is False for t in tiers.values())


def _alerting(findings: Findings, alerting: Any, at: Path, notes: dict[str, str]) -> dict[str, Any]:
    unknown_fields(
        findings, alerting, at, {"disabled", "burnrates", "absent", "name", "absentName"}
    )
    out: dict[str, Any] = {}
    alert = alert_name(findings, alerting.get("name") or None, (*at, "name"))
    if alert is not None:
        out["name"] = alert
    if notes:
        out["page"] = {"annotations": dict(notes)}
        out["ticket"] = {"annotations": dict(notes)}
    if alerting.get("disabled") is True or alerting.get("burnrates") is False:
        out["tiers"] = {t: {"enabled": False} for t in TIER_NAMES}
    if alerting.get("absent") is False:
        findings.dropped(
            (*at, "absent"), "absent: false", "the SLI-missing alert is always generated"
        )
    if alerting.get("absentName"):
        findings.dropped(
            (*at, "absentName"),
            "absentName",
            "the SLI-missing alert is named after the burn alert (…SLIMissing)",
        )
    return out
