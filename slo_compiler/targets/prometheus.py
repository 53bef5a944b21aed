"""Prometheus target: one rule file per SLO, `prometheus/<file>.<slo>.rules.yaml`.

The files are what `rule_files:` loads as they are, and what `promtool check rules`
accepts without warnings.
"""

from __future__ import annotations

from typing import Any

from ..rules.durations import format_duration
from ..rules.ir import AlertRule, RecordingRule, Rule, SourcePlan
from ..source.config import Config
from ..write.text import yaml_file
from ..write.tree import Deferred
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
    its recording rules, its alerts, or both. Per SLO a group of what its alerts read at
    every evaluation, a slower one (`slow_group_name`) for the rules planning gave an
    interval (slices, the windows summed from them, the period), and the alerts' own
    when apart."""
    groups = []
    for slo in plan.slos:
        rules: list[dict[str, Any]] = []
        slow: list[RecordingRule] = []
        for r in slo.rules:
            if isinstance(r, RecordingRule) and recording and r.every:
                slow.append(r)
            elif alerts if isinstance(r, AlertRule) else recording:
                rules.append(_rule(r))
        if rules:
            groups.append({"name": group_name(slo.group_name, alerts, recording), "rules": rules})
        if slow:
            (every,) = {r.every for r in slow}  # planning gives them one interval
            groups.append(
                {
                    "name": slow_group_name(slo.group_name),
                    "interval": format_duration(every),
                    "rules": [_rule(r) for r in slow],
                }
            )
    return {"groups": groups}


def group_name(name: str, alerts: bool, recording: bool) -> str:
    """A group holding only alerts is named apart from the SLO's recording group."""
    return f"{name}:alerts" if alerts and not recording else name


def slow_group_name(name: str) -> str:
    return f"{name}:slow"


def _rule_file(plan: SourcePlan, alerts: bool) -> dict[str, bytes]:
    return {rule_file_path(plan): yaml_file([plan.source], rule_groups(plan, alerts))}


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred rule files (tree.py): their expressions are the IR's, checked already."""
    alerts = config.prometheus_alerts
    units = [unit for p in plans for unit in p.per_slo()]
    return Output(
        {rule_file_path(u): Deferred(_rule_file, (u, alerts), rule_file_path(u)) for u in units}
    )
