"""Prometheus target: one rule file per SLO, `prometheus/<file>.<slo>.rules.yaml`.

The files are what `rule_files:` loads as they are, and what `promtool check rules`
accepts without warnings.
"""

from __future__ import annotations

from typing import Any

from ..base.durations import format_duration
from ..emit.text import yaml_file
from ..emit.tree import Deferred
from ..rules.burnrate import SLICE
from ..rules.ir import AlertRule, RecordingRule, Rule, SloPlan, SourcePlan
from ..source.config import Config
from . import Files, Folder, Kind, Output, Target

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
    its recording rules, its alerts, or both. Per SLO one group per interval planning gave
    rules (`interval_group_name`: the fine slices every 30s, the coarse slices and the
    windows summed from them every 4m), a group of what its alerts read at every
    evaluation, and the alerts' own when apart."""
    groups = []
    for slo in plan.slos:
        rules: list[dict[str, Any]] = []
        timed: dict[int, list[dict[str, Any]]] = {}
        for r in slo.rules:
            if isinstance(r, RecordingRule) and recording and r.every:
                timed.setdefault(r.every, []).append(_rule(r))
            elif alerts if isinstance(r, AlertRule) else recording:
                rules.append(_rule(r))
        # In dependency order, for tools that replay a file group after group (vmalert's
        # replay, backfills): each group reads only the counters and the groups before it.
        groups += [
            {
                "name": interval_group_name(slo.group_name, every),
                "interval": format_duration(every),
                "rules": timed[every],
            }
            for every in sorted(timed)
        ]
        if rules:
            groups.append({"name": group_name(slo.group_name, alerts, recording), "rules": rules})
    return {"groups": groups}


def group_name(name: str, alerts: bool, recording: bool) -> str:
    """A group holding only alerts is named apart from the SLO's recording group."""
    return f"{name}:alerts" if alerts and not recording else name


def interval_group_name(name: str, every: int) -> str:
    """The group of an SLO's rules evaluated every `every` seconds: `:slow` for the coarse
    slices' (its name since before there were fine slices), `:slices` for the fine
    slices' (shorter)."""
    return f"{name}:slow" if every == SLICE else f"{name}:slices"


def interval_group_names(slo: SloPlan) -> list[str]:
    """The names of an SLO's interval groups, in the order promtool must evaluate them:
    each reads only the raw counters and the groups before it."""
    everies = sorted({r.every for r in slo.rules if isinstance(r, RecordingRule) and r.every})
    return [interval_group_name(slo.group_name, every) for every in everies]


def _rule_file(plan: SourcePlan, alerts: bool) -> dict[str, bytes]:
    return {rule_file_path(plan): yaml_file([plan.source], rule_groups(plan, alerts))}


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred rule files (tree.py): their expressions are the IR's, checked already."""
    alerts = config.prometheus_alerts
    units = [unit for p in plans for unit in p.per_slo()]
    return Output(
        {rule_file_path(u): Deferred(_rule_file, (u, alerts), rule_file_path(u)) for u in units}
    )


TARGET = Target(
    render,
    folders=(
        Folder(
            "prometheus",
            "Prometheus rule files, one per SLO file: recording rules (and the burn-rate "
            "alerts when Prometheus evaluates them).",
            "Load with `rule_files:`; check with `promtool check rules prometheus/*.rules.yaml`.",
        ),
    ),
    kinds=(Kind("prometheus/", ".rules.yaml", "Prometheus rule file"),),
)
