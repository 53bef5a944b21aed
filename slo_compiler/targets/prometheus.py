"""Prometheus target: one rule file per SLO file, under prometheus/.

The files are what `rule_files:` loads as they are, and what `promtool check rules`
accepts without warnings.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..durations import format_duration
from ..ir import AlertRule, Rule, SourcePlan
from ..render import yaml_file
from . import Files, Output

FOLDER = "prometheus"


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


def rule_groups(plan: SourcePlan, alerts: bool = True, recording: bool = True) -> dict[str, Any]:
    """The rule file document of one source (also what a PrometheusRule's spec holds):
    its recording rules, its alerts, or both."""
    groups = []
    for slo in plan.slos:
        rules = [_rule(r) for r in slo.rules if (alerts if isinstance(r, AlertRule) else recording)]
        if rules:
            groups.append({"name": group_name(slo.group_name, alerts, recording), "rules": rules})
    return {"groups": groups}


def group_name(name: str, alerts: bool, recording: bool) -> str:
    """A group holding only alerts is named apart from the SLO's recording group."""
    return f"{name}:alerts" if alerts and not recording else name


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    return Output(
        {
            rule_file_path(p): yaml_file([p.source], rule_groups(p, config.prometheus_alerts))
            for p in plans
        }
    )
