"""The kind overlay Component, built with the real `kubectl kustomize` on a fixture overlay
shaped like the platform's (tests/fixtures/platform), then checked piece by piece with the
real promtool where Prometheus files are concerned."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, VALID, cli, compile_texts, require_tool, run, source

from slo_compiler import credentials
from slo_compiler.compiler import compile_sources
from slo_compiler.durations import parse_duration
from slo_compiler.targets import prometheus
from slo_compiler.targets.kubernetes import RULES_DIR

OVERLAY = ROOT / "tests/fixtures/platform/overlays/kind"


@pytest.fixture(scope="module")
def kubectl() -> str:
    return require_tool("kubectl")


def build(kubectl: str, overlay: Path = OVERLAY) -> list[dict[str, Any]]:
    result = run(kubectl, "kustomize", str(overlay))
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.fixture(scope="module")
def built(kubectl: str) -> list[dict[str, Any]]:
    return build(kubectl)


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return find(docs, "Deployment", name)["spec"]["template"]["spec"]


def test_rule_files_in_the_configmap_pass_promtool(
    built: list[dict[str, Any]], promtool: str, tmp_path: Path
) -> None:
    data = find(built, "ConfigMap", "slo-prometheus-rules")["data"]
    assert len(data) == len(list((ROOT / "slos").glob("*.yaml")))
    for name, text in data.items():
        (tmp_path / name).write_text(text)
        result = run(promtool, "check", "rules", str(tmp_path / name))
        assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_config_loads_the_rules_and_passes_promtool(
    built: list[dict[str, Any]], promtool: str, tmp_path: Path
) -> None:
    text = find(built, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
    config = yaml.safe_load(text)
    [pattern] = config["rule_files"]
    mounts = {
        m["mountPath"]: m["name"] for m in pod(built, "prometheus")["containers"][0]["volumeMounts"]
    }
    assert pattern == f"{RULES_DIR}/*.rules.yaml" and mounts[RULES_DIR] == "slo-prometheus-rules"
    # The real check: promtool on the config, its rule_files pointed at the ConfigMap's files.
    rules = find(built, "ConfigMap", "slo-prometheus-rules")["data"]
    for name, body in rules.items():
        (tmp_path / name).write_text(body)
    # Debian's promtool is built without Kubernetes service discovery, so the pod discovery
    # is swapped for a static target; everything else (relabelling included) is checked.
    config["rule_files"] = [f"{tmp_path}/*.rules.yaml"]
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["payment-service:8080"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rule files found" in result.stdout


def test_retention_covers_the_longest_slo_period(built: list[dict[str, Any]]) -> None:
    args = pod(built, "prometheus")["containers"][0]["args"]
    [retention] = [
        a.split("=", 1)[1] for a in args if a.startswith("--storage.tsdb.retention.time=")
    ]
    assert parse_duration(retention) >= parse_duration("90d")  # catalog-service's period
    assert (
        "--config.file=/etc/prometheus/prometheus.yml" in args and "--web.enable-lifecycle" in args
    )


def test_every_mount_has_its_volume_and_every_configmap_exists(built: list[dict[str, Any]]) -> None:
    configmaps = {d["metadata"]["name"] for d in built if d["kind"] == "ConfigMap"}
    for deployment in ("prometheus", "grafana"):
        spec = pod(built, deployment)
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            paths = [m["mountPath"] for m in container["volumeMounts"]]
            assert len(paths) == len(set(paths)), paths
            for mount in container["volumeMounts"]:
                assert mount["name"] in volumes, (deployment, mount)
        for volume in volumes.values():
            for item in [volume, *volume.get("projected", {}).get("sources", [])]:
                ref = item.get("configMap")
                if ref and not ref.get("optional"):
                    assert ref["name"] in configmaps, (deployment, ref)


def test_grafana_gets_alerting_dashboards_and_the_pinned_datasource(
    built: list[dict[str, Any]],
) -> None:
    spec = pod(built, "grafana")
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/etc/grafana/provisioning/alerting"] == "slo-grafana-alerting"
    alerting = find(built, "ConfigMap", "slo-grafana-alerting")["data"]
    assert {"contact-points.yaml", "policies.yaml", "payment-service.rules.yaml"} <= set(alerting)
    providers = next(
        v for v in spec["volumes"] if v["name"] == mounts["/etc/grafana/provisioning/dashboards"]
    )
    names = [s["configMap"]["name"] for s in providers["projected"]["sources"]]
    assert names == ["grafana-dashboard-provider", "slo-grafana-dashboard-provider"]
    provider = yaml.safe_load(
        find(built, "ConfigMap", "slo-grafana-dashboard-provider")["data"]["slo-compiler.yaml"]
    )
    path = provider["providers"][0]["options"]["path"]
    assert mounts[path] == "slo-grafana-dashboards"
    dashboards = find(built, "ConfigMap", "slo-grafana-dashboards")["data"]
    assert "payment-service.json" in dashboards
    assert sum(len(v) for v in dashboards.values()) < 1024 * 1024  # a ConfigMap's limit
    datasources = yaml.safe_load(
        find(built, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"]
    )
    uids = {d["name"]: d["uid"] for d in datasources["datasources"]}
    assert uids["Prometheus"] == "prometheus"


def test_no_env_var_holds_a_literal_secret(built: list[dict[str, Any]]) -> None:
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|WEBHOOK", re.I)
    seen = set()
    for doc in built:
        if doc["kind"] != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                seen.add(env["name"])
                if "value" in env:
                    assert not secretish.search(env["name"]), env
                    assert credentials.literal_secret(str(env["value"])) is None, env
                else:
                    assert "secretKeyRef" in env["valueFrom"], env
    assert {
        "GF_SECURITY_ADMIN_PASSWORD",
        "PAGERDUTY_INTEGRATION_KEY",
        "DISCORD_WEBHOOK_URL",
    } <= seen
    admin = next(
        e
        for e in pod(built, "grafana")["containers"][0]["env"]
        if e["name"] == "GF_SECURITY_ADMIN_PASSWORD"
    )
    assert admin == {
        "name": "GF_SECURITY_ADMIN_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "grafana-admin", "key": "admin-password"}},
    }


def test_removing_an_slo_file_removes_its_rules_from_the_configmaps(
    kubectl: str, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    shutil.copy(ROOT / "slo-compiler.yaml", tmp_path)
    shutil.copytree(ROOT / "tests/fixtures", tmp_path / "tests/fixtures")
    (tmp_path / "slos/gateway-service.yaml").unlink()
    assert cli("compile", cwd=tmp_path).returncode == 0
    docs = build(kubectl, tmp_path / "tests/fixtures/platform/overlays/kind")
    for name in ("slo-prometheus-rules", "slo-grafana-alerting", "slo-grafana-dashboards"):
        keys = find(docs, "ConfigMap", name)["data"]
        assert not [k for k in keys if k.startswith("gateway-service")], name
        assert [k for k in keys if k.startswith("payment-service")], name


def test_prometheus_operator_target(promtool: str, tmp_path: Path) -> None:
    result = compile_texts(VALID)  # default targets: no PrometheusRule
    assert not [p for p in result.files if p.startswith("k8s/prometheus-operator/")]
    result = compile_sources([source(VALID)], targets=("prometheus-operator",))
    [(path, data)] = [(p, d) for p, d in result.files.items() if p.startswith("k8s/")]
    doc = yaml.safe_load(data)
    assert path == "k8s/prometheus-operator/svc.yaml"
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert doc["spec"] == prometheus.rule_groups(result.plans[0])
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(doc["spec"]))
    checked = run(promtool, "check", "rules", str(tmp_path / "spec.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
