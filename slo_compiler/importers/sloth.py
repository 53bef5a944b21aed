"""Sloth specs: `version: prometheus/v1` files and the `sloth.slok.dev/v1`
`PrometheusServiceLevel` CRD (same fields, camelCase), one or many per file.

Sloth's defaults are ours at 30d (the workbook's four tiers: 14.4x 1h/5m, 6x 6h/30m,
3x 1d/2h, 1x 3d/6h), so an imported SLO keeps Sloth's windows and factors without
overrides; the period is written out (Sloth's 30d). What differs by design: our windows
are event-weighted sums of recorded slices (Sloth reads the counters for each window up to
3d and averages 5m ratios over its period), each tier is its own alert rule with a `for`
of a fifth of its short window (Sloth's page and ticket alerts are one rule each, without
`for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base.durations import parse_duration
from ..base.tiers import tiers_of
from ..diagnostics import Code, Diagnostic
from ..source.yamlpos import Document, Path
from .base import (
    Findings,
    Imported,
    alert_name,
    get,
    labels,
    latency_shape,
    mapping,
    name,
    objective,
    period,
    rate_sum,
    raw_ratio,
    unknown_fields,
)

WINDOW = "{{.window}}"
CRD_API = "sloth.slok.dev/v1"
CRD_KIND = "PrometheusServiceLevel"
VERSION = "prometheus/v1"
PERIOD = "30d"  # Sloth's default SLO period
# Sloth's label names in annotation templates, and ours.
_LABEL_RENAMES = {"sloth_service": "slo_service", "sloth_slo": "slo"}
# The CRD spells the prometheus/v1 fields in camelCase.
_SNAKE = {
    "errorQuery": "error_query",
    "totalQuery": "total_query",
    "errorRatioQuery": "error_ratio_query",
    "pageAlert": "page_alert",
    "ticketAlert": "ticket_alert",
}


def _snake(data: Any) -> Any:
    if isinstance(data, dict):
        return {_SNAKE.get(k, k): _snake(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_snake(v) for v in data]
    return data


WINDOWS_KIND = "AlertWindows"
# Sloth's AlertWindows names for our tiers.
_WINDOWS = {
    ("page", "quick"): "page-fast",
    ("page", "slow"): "page-slow",
    ("ticket", "quick"): "ticket-fast",
    ("ticket", "slow"): "ticket-slow",
}


@dataclass(frozen=True)
class Windows:
    """An AlertWindows document: the period of the SLOs imported with it, and its tiers."""

    period: str
    tiers: dict[str, dict[str, Any]]
    path: str


def is_windows(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("apiVersion") == CRD_API
        and data.get("kind") == WINDOWS_KIND
    )


def windows(doc: Document) -> tuple[Windows | None, Findings]:
    """Sloth's alert windows for a period: each tier's share of the budget over its long
    window (errorBudgetPercent) is our factor, share x period / long window."""
    findings = Findings(doc)
    spec = mapping(findings, doc.data.get("spec"), ("spec",), "spec")
    unknown_fields(findings, spec, ("spec",), {"sloPeriod", "page", "ticket"})
    days = period(findings, spec.get("sloPeriod"), ("spec", "sloPeriod"))
    tiers: dict[str, dict[str, Any]] = {}
    for (severity, speed), tier in _WINDOWS.items():
        at = ("spec", severity, speed)
        window = mapping(findings, get(spec, severity, speed), at, f"{severity}.{speed}")
        unknown_fields(findings, window, at, {"errorBudgetPercent", "shortWindow", "longWindow"})
        share, long, short = (
            window.get(k) for k in ("errorBudgetPercent", "longWindow", "shortWindow")
        )
        try:
            seconds = parse_duration(str(long))
            parse_duration(str(short))
            percent = float(share)
        except (TypeError, ValueError):
            findings.error(at, "needs errorBudgetPercent, shortWindow and longWindow")
            continue
        if days is not None:
            factor = percent / 100 * parse_duration(days) / seconds
            tiers[tier] = {
                "long_window": str(long),
                "short_window": str(short),
                "factor": round(factor, 6),
            }
    if findings.failed or days is None:
        return None, findings
    return Windows(days, tiers, doc.source.path), findings


def convert_all(
    docs: list[Document], _service: str | None
) -> tuple[list[Imported], list[Diagnostic]]:
    """Every Sloth document: AlertWindows first (Sloth's --slo-period-windows-path), whose
    period and tiers apply to the SLO specs given with them; then the specs."""
    found: list[Diagnostic] = []
    given: list[Windows] = []
    for doc in docs:
        if is_windows(doc.data):
            parsed, findings = windows(doc)
            found += findings.found
            if parsed is not None:
                given.append(parsed)
    if len({(w.period, str(w.tiers)) for w in given}) > 1:
        names = ", ".join(sorted({w.path for w in given}))
        return [], [
            Diagnostic(
                w.path, 1, 1, Code.IMPORT_IMPOSSIBLE,
                f"several AlertWindows among the inputs ({names}): Sloth picks one by the SLO "
                "period it runs with; import with the one your Sloth uses",
            )
            for w in given
        ]  # fmt: skip
    chosen = given[0] if given else None
    imported: list[Imported] = []
    specs = [doc for doc in docs if not is_windows(doc.data)]
    for doc in specs:
        entries, findings = convert(doc, chosen)
        if entries and chosen is None:  # the period is Sloth's command line's, not the spec's
            findings.warn(
                (),
                Code.IMPORT_CHANGED,
                f"Sloth's specs do not say their period: imported as {PERIOD}, Sloth's "
                "default; for a Sloth run with another --default-slo-period, import its "
                "AlertWindows file with the specs",
            )
        imported += entries
        found += findings.found
    if chosen is not None and not specs:
        found.append(
            Diagnostic(
                chosen.path, 1, 1, Code.IMPORT_NOT_A_SPEC,
                "AlertWindows holds Sloth's alert windows for a period, not SLOs: import it "
                "together with the SLO specs it applies to",
            )
        )  # fmt: skip
    return imported, found


def is_spec(data: Any) -> bool:
    return isinstance(data, dict) and (
        data.get("version") == VERSION
        or (data.get("apiVersion") == CRD_API and data.get("kind") == CRD_KIND)
    )


def convert(doc: Document, chosen: Windows | None = None) -> tuple[list[Imported], Findings]:
    """The SLOs of one Sloth document (with the AlertWindows given beside it, if any)."""
    findings = Findings(doc)
    data = doc.data
    if not is_spec(data):
        findings.error(
            (),
            f"not a Sloth spec: expected `version: {VERSION}` or `apiVersion: {CRD_API}` "
            f"with `kind: {CRD_KIND}` (or `kind: {WINDOWS_KIND}` beside them)",
            Code.IMPORT_NOT_A_SPEC,
        )
        return [], findings
    if "version" in data:
        spec, at = data, ()
        unknown_fields(findings, data, (), {"version", "service", "labels", "slos", "slo_plugins"})
    else:
        spec, at = _snake(mapping(findings, data.get("spec"), ("spec",), "spec")), ("spec",)
        unknown_fields(findings, data, (), {"apiVersion", "kind", "metadata", "spec"})
        unknown_fields(findings, spec, at, {"service", "labels", "slos", "sloPlugins"})
    refused = _plugins(findings, spec, at)
    service = name(findings, spec.get("service"), (*at, "service"), "service")
    service_labels = labels(findings, spec.get("labels"), (*at, "labels"), "sloth")
    out = []
    slos = spec.get("slos")
    if not isinstance(slos, list) or not slos:
        findings.error((*at, "slos"), "a Sloth spec needs a list of SLOs under slos")
        return [], findings
    for i, slo in enumerate(slos):
        entry = _slo(findings, slo, (*at, "slos", i), chosen)
        if entry is not None and service is not None and not refused:
            out.append(Imported(service, service_labels, entry, findings, (*at, "slos", i)))
    return out, findings


# Sloth's SLO plugins that change nothing the alerts compute (or do what the compile does
# itself): dropped, each with a warning naming it. Every other plugin is refused by name:
# the imported alerts would differ from the ones the team runs.
_SAFE_PLUGINS = {
    "sloth.dev/core/debug/v1": "logs Sloth's work",
    "sloth.dev/core/noop/v1": "does nothing",
    "sloth.dev/core/validate/v1": "validates the spec, as the import does",
    "sloth.dev/core/sli_rules/v1": "writes Sloth's SLI rules; the compile writes its own",
    "sloth.dev/core/metadata_rules/v1": "writes Sloth's metadata rules; the compile "
    "records the objective and budget itself",
    "sloth.dev/core/alert_rules/v1": "writes Sloth's alerts; the compile writes the same tiers",
    "sloth.dev/contrib/info_labels/v1": "labels Sloth's info metrics, which are not written here",
    "sloth.dev/contrib/rule_intervals/v1": "sets Sloth's rule group intervals; the compile "
    "sets its own",
    "sloth.dev/contrib/validate_victoria_metrics/v1": "checks the queries for VictoriaMetrics "
    "(the compiled rules run there: docs/performance.md)",
}
_CHANGING_PLUGINS = {
    "sloth.dev/contrib/denominator_corrected_rules/v1": "weights each window's error ratio "
    "by its share of the period's traffic",
    "sloth.dev/contrib/error_budget_exhausted_alert/v1": "adds an alert when the budget is spent",
    "sloth.dev/contrib/remove_labels/v1": "removes labels from the rules and alerts",
}


def _plugins(findings: Findings, where: dict[str, Any], at: Path) -> bool:
    """Sloth's SLO plugins (`slo_plugins` or `sloPlugins` on the spec, `plugins` on an SLO):
    the known harmless ones dropped with a warning each, every other one refused by name.
    Whether one was refused: then nothing of what it applies to is imported, with
    --partial too (an SLO silently without its plugin is not the SLO the team runs)."""
    refused = False
    for key in ("slo_plugins", "sloPlugins", "plugins"):
        chain = get(where, key, "chain")
        for i, plugin in enumerate(chain if isinstance(chain, list) else []):
            ident = str(get(plugin, "id") or "")
            loc = (*at, key, "chain", i, "id")
            if ident in _SAFE_PLUGINS:
                findings.dropped(loc, f"Sloth's plugin {ident}", _SAFE_PLUGINS[ident])
                continue
            refused = True
            what = _CHANGING_PLUGINS.get(ident, "is not one known to leave the alerts as they are")
            findings.error(
                loc,
                f"Sloth's plugin {ident or '(no id)'} {what}: the imported alerts would differ "
                "from the ones Sloth makes; remove it from the spec to import, then compare "
                "the alerts with `slo-compiler backtest`",
            )
    return refused


def _slo(findings: Findings, slo: Any, at: Path, chosen: Windows | None) -> dict[str, Any] | None:
    if not isinstance(slo, dict):
        findings.error(at, "an SLO must be a mapping")
        return None
    refused = _plugins(findings, slo, at)
    unknown_fields(
        findings,
        slo,
        at,
        {"name", "objective", "description", "labels", "sli", "alerting", "plugins"},
    )
    entry: dict[str, Any] = {"name": name(findings, slo.get("name"), (*at, "name"), "SLO name")}
    if slo.get("description"):
        entry["description"] = str(slo["description"]).strip()
    entry["objective"] = objective(findings, slo.get("objective"), (*at, "objective"))
    entry["period"] = chosen.period if chosen else PERIOD
    entry["sli"], group_by = _sli(findings, slo.get("sli"), (*at, "sli"))
    if group_by:
        entry["group_by"] = group_by
    slo_labels = labels(findings, slo.get("labels"), (*at, "labels"), "sloth")
    if slo_labels:
        entry["labels"] = slo_labels
    alerting = _alerting(findings, slo.get("alerting"), (*at, "alerting"))
    if chosen is not None:  # its tiers, but those the spec disables stay off
        tiers = {**chosen.tiers, **alerting.get("tiers", {})}
        alerting["tiers"] = {t: tiers[t] for t in _WINDOWS.values() if t in tiers}
    if alerting:
        entry["alerting"] = alerting
    if refused or None in (entry["name"], entry["objective"], entry["sli"]):
        return None
    return entry


def _sli(findings: Findings, sli: Any, at: Path) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(sli, dict):
        findings.error(at, "the SLO needs an sli with events or raw")
        return None, []
    if "plugin" in sli:
        findings.error(
            (*at, "plugin"),
            "SLI plugins are Go code run by Sloth: write the SLI they compute as a ratio, "
            "latency or raw SLI by hand",
        )
        return None, []
    unknown_fields(findings, sli, at, {"events", "raw"})
    if isinstance(sli.get("events"), dict):
        events = sli["events"]
        unknown_fields(findings, events, (*at, "events"), {"error_query", "total_query"})
        errors, total = events.get("error_query"), events.get("total_query")
        if not isinstance(errors, str) or not isinstance(total, str):
            findings.error((*at, "events"), "events needs error_query and total_query")
            return None, []
        bad, whole = rate_sum(errors, WINDOW), rate_sum(total, WINDOW)
        if bad is not None and whole is not None and bad.by == whole.by:
            ratio = {"errors": bad.selector.render(), "total": whole.selector.render()}
            return {"ratio": ratio}, list(whole.by)
        slow = latency_shape(errors, total, WINDOW)
        if slow is not None:
            threshold = int(slow.threshold) if slow.threshold.is_integer() else slow.threshold
            latency = {"histogram": slow.histogram.render(), "threshold": threshold}
            return {"latency": latency}, list(slow.by)
        findings.warn(
            (*at, "events"),
            Code.IMPORT_RAW_SLI,
            "the queries are neither both `sum(rate(selector[{{.window}}]))` (same grouping) "
            "nor a histogram's count less one bucket over its count: kept as a raw SLI, "
            "whose burn alerts the generated tests cannot exercise",
        )
        return {"raw": {"error_ratio": raw_ratio(errors, total, WINDOW)}}, []
    query = get(sli, "raw", "error_ratio_query")
    if isinstance(query, str):
        unknown_fields(findings, sli["raw"], (*at, "raw"), {"error_ratio_query"})
        return {"raw": {"error_ratio": query.strip().replace(WINDOW, "{{window}}")}}, []
    findings.error(at, "the SLI needs events (error_query, total_query) or raw (error_ratio_query)")
    return None, []


def _annotations(findings: Findings, value: Any, at: Path) -> dict[str, str]:
    """Annotations as written, Sloth's label names in templates renamed to ours."""
    out: dict[str, str] = {}
    for key, text in mapping(findings, value, at, "annotations").items():
        text = str(text)
        renamed = text
        for theirs, ours in _LABEL_RENAMES.items():
            renamed = renamed.replace(f"$labels.{theirs}", f"$labels.{ours}")
        if renamed != text:
            findings.warn(
                (*at, key),
                Code.IMPORT_CHANGED,
                "Sloth's labels sloth_service and sloth_slo are slo_service and slo here: "
                "the template was changed to read those",
            )
        out[str(key)] = renamed
    return out


def _alerting(findings: Findings, alerting: Any, at: Path) -> dict[str, Any]:
    """Sloth's alert name, labels and annotations (both severities), page_alert and
    ticket_alert (labels, annotations, disable) -> ours."""
    alerting = mapping(findings, alerting, at, "alerting")
    if not alerting:
        return {}
    unknown_fields(
        findings, alerting, at, {"name", "labels", "annotations", "page_alert", "ticket_alert"}
    )
    out: dict[str, Any] = {}
    alert = alert_name(findings, alerting.get("name"), (*at, "name"))
    if alert is not None:
        out["name"] = alert
    common_labels = labels(findings, alerting.get("labels"), (*at, "labels"), "sloth")
    common_notes = _annotations(findings, alerting.get("annotations"), (*at, "annotations"))
    tiers: dict[str, Any] = {}
    for theirs, ours, names in (
        ("page_alert", "page", tiers_of("page")),
        ("ticket_alert", "ticket", tiers_of("ticket")),
    ):
        where = (*at, theirs)
        severity = mapping(findings, alerting.get(theirs), where, theirs)
        unknown_fields(findings, severity, where, {"labels", "annotations", "disable"})
        merged = {
            "labels": {
                **common_labels,
                **labels(findings, severity.get("labels"), (*where, "labels"), "sloth"),
            },
            "annotations": {
                **common_notes,
                **_annotations(findings, severity.get("annotations"), (*where, "annotations")),
            },
        }
        merged = {k: v for k, v in merged.items() if v}
        if merged:
            out[ours] = merged
        if severity.get("disable") is True:
            tiers.update({tier: {"enabled": False} for tier in names})
    if tiers:
        out["tiers"] = tiers
    return out
