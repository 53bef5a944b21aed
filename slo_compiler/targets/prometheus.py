"""Prometheus target: one rule file per SLO file, under prometheus/.

The files are what `rule_files:` loads as they are, and what `promtool check rules`
accepts without warnings.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..durations import format_duration
from ..ir import AlertRule, RecordingRule, Rule, SloPlan, SourcePlan
from ..plan import BUDGET_REMAINING, ratio_metric
from ..render import yaml_file
from . import Files, Output

FOLDER = "prometheus"
# The period's ratio and the budget left feed dashboards, not alerts: their own group,
# evaluated every 4m (under Prometheus' 5m lookback, so a query never finds them stale),
# instead of reading the whole period's recorded rates at every rule evaluation. Most of
# the samples an SLO's rules read were this window's (bench/RESULTS.md).
PERIOD_GROUP_INTERVAL = 240


def rule_file_path(plan: SourcePlan) -> str:
    return f"{FOLDER}/{plan.stem}.rules.yaml"


def _rule(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, AlertRule):
        return {
            "alert": rule.alert,
            "expr": rule.expr,
            "for": format_duration(rule.for_),
            "labels": dict(rule.labels),
            "annotations": dict(rule.annotations),
        }
    return {"record": rule.record, "expr": rule.expr, "labels": dict(rule.labels)}


def in_period_group(slo: SloPlan, rule: Rule) -> bool:
    """The period's ratio and the budget left, unless an alert reads the period's ratio
    (a tier whose long window is the period must see it at every evaluation)."""
    if not isinstance(rule, RecordingRule):
        return False
    alerted = any(slo.period in (t.long_window, t.short_window) for t in slo.tiers)
    return rule.record == BUDGET_REMAINING or (
        rule.record == ratio_metric(slo.period) and not alerted
    )


def rule_groups(plan: SourcePlan, alerts: bool = True, recording: bool = True) -> dict[str, Any]:
    """The rule file document of one source (also what a PrometheusRule's spec holds):
    its recording rules, its alerts, or both; per SLO a group of the rules alerts read,
    a slower one for the period (`period_group_name`), and the alerts' own when apart."""
    groups = []
    for slo in plan.slos:
        wanted = [r for r in slo.rules if (alerts if isinstance(r, AlertRule) else recording)]
        rules = [_rule(r) for r in wanted if not in_period_group(slo, r)]
        slow = [_rule(r) for r in wanted if in_period_group(slo, r)]
        if rules:
            groups.append({"name": group_name(slo.group_name, alerts, recording), "rules": rules})
        if slow:
            groups.append(
                {
                    "name": period_group_name(slo.group_name),
                    "interval": format_duration(PERIOD_GROUP_INTERVAL),
                    "rules": slow,
                }
            )
    return {"groups": groups}


def group_name(name: str, alerts: bool, recording: bool) -> str:
    """A group holding only alerts is named apart from the SLO's recording group."""
    return f"{name}:alerts" if alerts and not recording else name


def period_group_name(name: str) -> str:
    return f"{name}:period"


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    return Output(
        {
            rule_file_path(p): yaml_file([p.source], rule_groups(p, config.prometheus_alerts))
            for p in plans
        }
    )
