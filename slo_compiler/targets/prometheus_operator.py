"""PrometheusRule objects (monitoring.coreos.com/v1) for clusters with the Prometheus
Operator: k8s/prometheus-operator/<file>.yaml, one per SLO file, whose spec is the rule
file's groups as they are. Labels from the config's `kubernetes.prometheus_rule_labels`
let the operator's ruleSelector pick them up."""

from __future__ import annotations

from ..config import Config
from ..ir import SourcePlan
from ..render import yaml_file
from . import Files, Output
from .prometheus import rule_groups

FOLDER = "k8s/prometheus-operator"


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    out = Output()
    for plan in plans:
        labels = {
            "app.kubernetes.io/managed-by": "slo-compiler",
            **config.kubernetes.prometheus_rule_labels,
        }
        doc = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": f"slo-{plan.stem.replace('/', '-')}", "labels": labels},
            "spec": rule_groups(plan, config.prometheus_alerts),
        }
        out.files[f"{FOLDER}/{plan.stem}.yaml"] = yaml_file([plan.source], doc)
    return out
