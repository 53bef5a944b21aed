"""Prometheus target: one rule file per SLO file, under prometheus/.

The files are what `rule_files:` loads as they are, and what `promtool check rules`
accepts without warnings.
"""

from __future__ import annotations

from typing import Any

from ..durations import format_duration
from ..ir import AlertRule, Rule, SourcePlan
from ..render import yaml_file

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


def rule_groups(plan: SourcePlan) -> dict[str, Any]:
    """The rule file document of one source (also what a PrometheusRule's spec holds)."""
    return {
        "groups": [
            {"name": slo.group_name, "rules": [_rule(r) for r in slo.rules]} for slo in plan.slos
        ]
    }


def render(plans: list[SourcePlan]) -> dict[str, bytes]:
    return {rule_file_path(p): yaml_file([p.source], rule_groups(p)) for p in plans}
