"""PrometheusRule objects (monitoring.coreos.com/v1) for clusters with the Prometheus
Operator: k8s/prometheus-operator/<file>.yaml, one per SLO file, whose spec is the rule
file's groups as they are. Labels from the config's `kubernetes.prometheus_rule_labels`
let the operator's ruleSelector pick them up."""

from __future__ import annotations

import hashlib
import re

from ..emit.text import yaml_file
from ..emit.tree import Deferred
from ..rules.ir import SourcePlan
from ..source.config import Config
from . import Files, Folder, Kind, Output, Target
from .prometheus import rule_groups

FOLDER = "k8s/prometheus-operator"
_NOT_DNS = re.compile(r"[^a-z0-9.-]+")


def object_name(stem: str) -> str:
    """`slo-<file>` as a DNS-1123 subdomain (what Kubernetes requires of object names):
    lower case, other characters as `-`, and a short hash of the file's own name whenever
    that changed it, so that `A.yaml` and `a.yaml` or `a_b` and `a-b` stay apart."""
    name = "slo-" + re.sub(r"\.{2,}", ".", _NOT_DNS.sub("-", stem.lower())).strip("-.")
    if name != f"slo-{stem}":
        name = f"{name[:240]}-{hashlib.sha256(stem.encode()).hexdigest()[:8]}"
    return name


def _object_file(plan: SourcePlan, config: Config) -> dict[str, bytes]:
    labels = {
        "app.kubernetes.io/managed-by": "slo-compiler",
        **config.kubernetes.prometheus_rule_labels,
    }
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": object_name(plan.stem), "labels": labels},
        "spec": rule_groups(plan, config.prometheus_alerts),
    }
    return {f"{FOLDER}/{plan.stem}.yaml": yaml_file([plan.source], doc)}


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred PrometheusRule objects (tree.py)."""
    out = Output()
    for plan in plans:
        path = f"{FOLDER}/{plan.stem}.yaml"
        out.files[path] = Deferred(_object_file, (plan, config), path)
    return out


# For clusters that run the Prometheus Operator: an option (`--target prometheus-operator`).
TARGET = Target(
    render,
    folders=(
        Folder(
            "k8s/prometheus-operator",
            "PrometheusRule objects for clusters with the Prometheus Operator.",
            "`kubectl apply -f k8s/prometheus-operator/`",
        ),
    ),
    kinds=(Kind("k8s/prometheus-operator/", ".yaml", "Kubernetes manifest"),),
    default=False,
)
