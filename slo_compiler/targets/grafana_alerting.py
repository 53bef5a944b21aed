"""Grafana unified alerting, file provisioning (apiVersion 1), under grafana/alerting/:

* `<file>.rules.yaml` when Grafana evaluates the alerts: a folder per service, a rule
  group per SLO, a rule per tier and the SLI-missing rule. Each rule is the Prometheus
  alert taken apart: query A the long window's burn rate, B the short one's, and a math
  expression `$A > factor && $B > factor` as the condition, from the same planned
  conditions, so both engines fire at the same thresholds on the same windows;
* `contact-points.yaml` and `policies.yaml` from the config's receivers and routing.

Grafana's provisioning expands `$VAR`, `${VAR}`, `$__env{}` and `$__file{}` in every field
of these files except rule annotations and query models (read raw, Grafana 9.1 to 13):
`expanded` writes each user-derived string of an expanded field with `$` as `$$`, so an
SLO label `${GF_SECURITY_ADMIN_PASSWORD}` stays that text instead of leaking the secret
into every notification. The only references left to expand are the contact-point
secrets the config names.

noDataState is OK on purpose: an empty burn query means "not burning" (the series are
filtered by the threshold), and a missing SLI has its own rule. execErrState is Error,
so a failing datasource shows as an error instead of a page or silence.
"""

from __future__ import annotations

from typing import Any

from ..base.durations import format_duration
from ..base.templates import to_grafana
from ..emit.text import yaml_file
from ..emit.tree import Deferred
from ..rules.ids import dashboard_uid, folder, panel_id, uid
from ..rules.ir import AlertRule, SloPlan, SourcePlan, title
from ..rules.routes import Route, tree
from ..source.config import Config, Receiver
from ..source.credentials import REFERENCE
from . import Expression, Files, Folder, Kind, Output, Target

FOLDER = "grafana/alerting"
EXPRESSION_DATASOURCE = "__expr__"
# How far back the instant queries may look for a sample (Prometheus' lookback is 5m).
QUERY_RANGE = 600


def expanded(text: str) -> str:
    """`text` for a field Grafana's provisioning expands: `$$` is its literal `$`."""
    return text.replace("$", "$$")


def _setting(value: str | bool | int, secret: bool) -> str | bool | int:
    """A contact-point setting: a credential's $__env{}/$__file{} reference expands, every
    other `$` is literal (the checks refuse references anywhere else)."""
    if not isinstance(value, str):
        return value
    if not secret:
        return expanded(value)
    kept, end = [], 0
    for match in REFERENCE.finditer(value):
        kept += [expanded(value[end : match.start()]), match[0]]
        end = match.end()
    return "".join([*kept, expanded(value[end:])])


def rules_file_path(plan: SourcePlan) -> str:
    return f"{FOLDER}/{plan.stem}.rules.yaml"


def _query(ref: str, expr: str, config: Config) -> dict[str, Any]:
    ds = config.grafana.datasource_uid
    return {
        "refId": ref,
        "relativeTimeRange": {"from": QUERY_RANGE, "to": 0},
        "datasourceUid": ds,
        "model": {
            "refId": ref,
            "datasource": {"type": "prometheus", "uid": ds},
            "editorMode": "code",
            "expr": expr,
            "instant": True,
            "range": False,
            "intervalMs": 1000,
            "maxDataPoints": 43200,
        },
    }


def _math(ref: str, expression: str) -> dict[str, Any]:
    return {
        "refId": ref,
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": EXPRESSION_DATASOURCE,
        "model": {
            "refId": ref,
            "datasource": {"type": "__expr__", "uid": EXPRESSION_DATASOURCE},
            "type": "math",
            "expression": expression,
        },
    }


def refs(rule: AlertRule) -> list[str]:
    """Query refIds of a rule's conditions: A, B, ...; the condition is the next letter."""
    return [chr(ord("A") + i) for i in range(len(rule.conditions))]


def _rule(slo: SloPlan, index: int, rule: AlertRule, config: Config) -> dict[str, Any]:
    names = refs(rule)
    condition = chr(ord(names[-1]) + 1)
    window = rule.tier.name if rule.tier else rule.check
    data = [
        _query(ref, expr, config) for ref, (expr, _) in zip(names, rule.conditions, strict=True)
    ]
    data.append(
        _math(
            condition,
            " && ".join(
                f"${ref} > {threshold}"
                for ref, (_, threshold) in zip(names, rule.conditions, strict=True)
            ),
        )
    )
    return {
        "uid": uid(slo.service, slo.name, window),
        "title": expanded(title(rule)),
        "condition": condition,
        "data": data,
        "dashboardUid": dashboard_uid(slo.service),
        "panelId": panel_id(index, "burn"),
        "noDataState": "OK",
        "execErrState": "Error",
        "for": format_duration(rule.for_),
        "labels": {k: expanded(v) for k, v in rule.labels},
        "annotations": {k: to_grafana(v, names[0]) for k, v in rule.annotations},
        "isPaused": False,
    }


def rule_groups(plan: SourcePlan, config: Config) -> dict[str, Any]:
    groups = []
    for index, slo in enumerate(plan.slos):
        rules = [r for r in slo.rules if isinstance(r, AlertRule)]
        groups.append(
            {
                "orgId": config.grafana.org_id,
                "name": expanded(slo.name),
                "folder": expanded(folder(config.grafana.folder, slo.service)),
                "interval": config.grafana_interval,
                "rules": [_rule(slo, index, r, config) for r in rules],
            }
        )
    return {"apiVersion": 1, "groups": groups}


def _receiver(receiver: Receiver, config: Config) -> dict[str, Any]:
    secret = receiver.secret_settings()
    return {
        "orgId": config.grafana.org_id,
        "name": expanded(receiver.name),
        "receivers": [
            {
                "uid": uid("receiver", receiver.name),
                "type": receiver.type,
                "settings": {
                    k: _setting(v, k.lower() in secret)
                    for k, v in sorted(receiver.settings.items())
                },
                "disableResolveMessage": receiver.disable_resolve_message,
            }
        ],
    }


def _policy(route: Route) -> dict[str, Any]:
    """One node of the routing tree (rules/routes.py) as a Grafana policy."""
    out: dict[str, Any] = {}
    if route.receiver is not None:
        out["receiver"] = expanded(route.receiver)
    if route.matchers:
        out["object_matchers"] = [[label, "=", expanded(v)] for label, v in route.matchers]
    out.update(route.timings.model_dump(exclude_none=True))
    if route.routes:
        out["routes"] = [_policy(r) for r in route.routes]
    return out


def policies(config: Config) -> dict[str, Any]:
    """The routing tree Alertmanager's route is rendered from too."""
    root = tree(config)
    assert root is not None and config.routing is not None
    group_by = [expanded(label) for label in config.routing.group_by]
    return {
        "apiVersion": 1,
        "policies": [{"orgId": config.grafana.org_id, "group_by": group_by, **_policy(root)}],
    }


def _rules_file(plan: SourcePlan, config: Config) -> dict[str, bytes]:
    return {rules_file_path(plan): yaml_file([plan.source], rule_groups(plan, config))}


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred rule files (tree.py); the queries they hold are the IR's, checked here."""
    out = Output()
    if config.grafana_alerts:
        for plan in plans:
            path = rules_file_path(plan)
            out.files[path] = Deferred(_rules_file, (plan, config), path)
            for slo in plan.slos:
                for rule in slo.rules:
                    if isinstance(rule, AlertRule):
                        out.expressions += [
                            Expression(expr, rule.origin, f"Grafana query of {rule.alert}")
                            for expr, _ in rule.conditions
                        ]
    if config.receivers:
        out.files[f"{FOLDER}/contact-points.yaml"] = yaml_file(
            [config.source],
            {"apiVersion": 1, "contactPoints": [_receiver(r, config) for r in config.receivers]},
        )
    if config.routing is not None:
        out.files[f"{FOLDER}/policies.yaml"] = yaml_file([config.source], policies(config))
    return out


TARGET = Target(
    render,
    folders=(
        Folder(
            "grafana/alerting",
            "Grafana unified-alerting file provisioning: alert rules, contact points, "
            "notification policies.",
            "Mount at `/etc/grafana/provisioning/alerting/`; set the `$__env{...}` variables "
            "in Grafana's environment.",
        ),
    ),
    kinds=(Kind("grafana/alerting/", ".rules.yaml", "Grafana alert rule file"),),
)
