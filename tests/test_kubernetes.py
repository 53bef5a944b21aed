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

from slo_compiler.base.durations import parse_duration
from slo_compiler.compiler import compile_sources
from slo_compiler.emit.tree import Tree
from slo_compiler.source import credentials
from slo_compiler.targets import prometheus
from slo_compiler.targets.kubernetes import NEEDS, RULES_DIR

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
    # The platform scrapes static targets, so Debian's promtool (built without Kubernetes
    # service discovery) checks the whole config as it is, with rule_files pointed here.
    config["rule_files"] = [f"{tmp_path}/*.rules.yaml"]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rule files found" in result.stdout


PLATFORM_MANIFEST = ROOT / "tests/fixtures/platform/base/prometheus.yaml"


def _platform_prometheus_yml(manifest: Path = PLATFORM_MANIFEST) -> dict[str, Any]:
    [configmap] = [
        d
        for d in yaml.safe_load_all(manifest.read_text())
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "prometheus-config"
    ]
    return yaml.safe_load(configmap["data"]["prometheus.yml"])


def test_the_platform_scrape_configuration_survives_the_component(
    built: list[dict[str, Any]],
) -> None:
    """Every job, target, label and interval of the platform's prometheus.yml is still
    there after `kubectl kustomize`; the Component adds rule_files and nothing else. (It
    used to replace the static targets with pod discovery: Prometheus scraped nothing.)"""
    original = _platform_prometheus_yml()
    text = find(built, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
    patched = yaml.safe_load(text)
    assert patched.pop("rule_files") == [f"{RULES_DIR}/*.rules.yaml"]
    assert patched == original
    targets = [t for c in original["scrape_configs"][0]["static_configs"] for t in c["targets"]]
    assert len(targets) == 8 and "auth-service:3005" in targets


def _platform_repo(tmp_path: Path, manifest_edit: str = "") -> Path:
    """The example repository whose config reads the fixture platform's manifest."""
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    shutil.copytree(ROOT / "tests/fixtures/platform", tmp_path / "platform")
    config = (
        (ROOT / "slo-compiler.yaml")
        .read_text()
        .replace(
            "kubernetes:\n",
            "kubernetes:\n  prometheus_config_file: platform/base/prometheus.yaml\n",
        )
    )
    (tmp_path / "slo-compiler.yaml").write_text(config)
    kustomization = tmp_path / "platform/overlays/kind/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("../../../../../generated", "../../../generated")
    )
    return tmp_path


def test_the_platform_manifest_is_read_so_new_targets_are_kept(
    kubectl: str, tmp_path: Path
) -> None:
    repo = _platform_repo(tmp_path)
    manifest = repo / "platform/base/prometheus.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "        static_configs:\n",
            "        static_configs:\n"
            "            - targets: ['billing-service:3010']\n"
            "              labels: {service: 'billing-service'}\n",
        )
    )
    result = cli("compile", cwd=repo)
    assert result.returncode == 0, result.stderr
    docs = build(kubectl, repo / "platform/overlays/kind")
    patched = yaml.safe_load(find(docs, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"])
    assert patched.pop("rule_files") == [f"{RULES_DIR}/*.rules.yaml"]
    assert patched == _platform_prometheus_yml(manifest)
    assert "billing-service:3010" in str(patched)
    header = (repo / "generated/k8s/kind/patches/prometheus-config.yaml").read_text()
    assert "platform/base/prometheus.yaml" in header.splitlines()[0]
    # The manifest is an input: a change to it is drift.
    manifest.write_text(manifest.read_text().replace("scrape_interval: 10s", "scrape_interval: 5s"))
    drift = cli("check", cwd=repo, env={"CI": ""})
    assert drift.returncode == 1 and "~ k8s/kind/patches/prometheus-config.yaml" in drift.stdout


def test_a_manifest_without_the_prometheus_config_is_a_positioned_error(tmp_path: Path) -> None:
    repo = _platform_repo(tmp_path)
    manifest = repo / "platform/base/prometheus.yaml"
    manifest.write_text(manifest.read_text().replace("name: prometheus-config", "name: other"))
    result = cli("validate", cwd=repo)
    assert result.returncode == 1
    line = next(
        i + 1
        for i, text in enumerate((repo / "slo-compiler.yaml").read_text().splitlines())
        if "prometheus_config_file" in text
    )
    assert (
        f"slo-compiler.yaml:{line}:27: error[S002]: platform/base/prometheus.yaml: no "
        "ConfigMap 'prometheus-config' with a key 'prometheus.yml'"
    ) in result.stderr
    missing = (repo / "slo-compiler.yaml").read_text().replace("base/prometheus", "nowhere")
    (repo / "slo-compiler.yaml").write_text(missing)
    result = cli("validate", cwd=repo)
    assert "platform/nowhere.yaml:1:1: error[Y006]: cannot read" in result.stderr


def test_the_evaluation_interval_is_one_fact(tmp_path: Path) -> None:
    """The platform's 15s is what Prometheus evaluates at: the Component keeps it, explain
    models it, Grafana's rule groups run at it (in Grafana's 10s steps), and a config that
    says otherwise is refused."""
    repo = _platform_repo(tmp_path)
    assert cli("compile", cwd=repo).returncode == 0
    rules = yaml.safe_load(
        (repo / "generated/grafana/alerting/payment-service.rules.yaml").read_text()
    )
    assert {g["interval"] for g in rules["groups"]} == {"20s"}
    explained = cli("explain", "--format", "json", cwd=repo)
    assert {s["evaluation_interval"] for s in yaml.safe_load(explained.stdout)["slos"]} == {"15s"}
    config = repo / "slo-compiler.yaml"
    config.write_text(config.read_text() + "evaluation_interval: 1m\n")
    refused = cli("validate", cwd=repo)
    assert refused.returncode == 1
    assert "the platform's prometheus.yml evaluates rules every 15s, not 1m" in refused.stderr


def test_retention_covers_the_longest_slo_period(built: list[dict[str, Any]]) -> None:
    args = pod(built, "prometheus")["containers"][0]["args"]
    [retention] = [
        a.split("=", 1)[1] for a in args if a.startswith("--storage.tsdb.retention.time=")
    ]
    assert parse_duration(retention) >= parse_duration("90d")  # catalog-service's period
    # ...bounded in size below the 2Gi claim, so a full disk never stops Prometheus.
    [size] = [a.split("=", 1)[1] for a in args if a.startswith("--storage.tsdb.retention.size=")]
    assert size == "1638MB"
    readme = (ROOT / "generated/README.md").read_text()
    assert "## Prometheus disk" in readme and "about 8 days fit" in readme
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


def test_intervals_the_compiler_reads_must_be_durations(tmp_path: Path) -> None:
    """Inline or read from the manifest, a prometheus.yml whose intervals are no durations
    is a positioned error, never a traceback."""
    from test_grafana import config_errors

    inline = (
        "apiVersion: slo-compiler/v1\nkubernetes:\n  prometheus_config:\n"
        "    global: {evaluation_interval: soon}\n    scrape_configs: []\n"
    )
    [(line, _, code, message)] = config_errors(inline)
    assert (line, code) == (4, "S004") and "global.evaluation_interval 'soon'" in message
    repo = _platform_repo(tmp_path)
    manifest = repo / "platform/base/prometheus.yaml"
    manifest.write_text(manifest.read_text().replace("scrape_interval: 10s", "scrape_interval: 10"))
    result = cli("validate", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "'prometheus.yml' scrape_configs.0.scrape_interval 10 is not a duration" in result.stderr


def test_the_files_the_component_packs_are_rendered_once() -> None:
    """The Component reads the rule files, alerting files and dashboards to pack them into
    ConfigMaps; the writer then takes those bytes (kept compressed) instead of rendering
    each again, and each ConfigMap is made only when it is written."""
    from slo_compiler.emit.tree import Deferred, Packed
    from slo_compiler.source.files import discover
    from slo_compiler.targets import render_targets

    config = source((ROOT / "slo-compiler.yaml").read_bytes(), "slo-compiler.yaml")
    result = compile_sources(discover(str(ROOT / "slos")), config)
    files, _ = render_targets(["kubernetes", *NEEDS], result.plans, result.config)
    needed = [p for p in files if p.startswith(("prometheus/", "grafana/"))]
    assert needed and not any(isinstance(files[p], Deferred) for p in needed)
    rule_files = [p for p in needed if p.endswith(".rules.yaml")]
    assert rule_files and all(isinstance(files[p], Packed) for p in rule_files)
    configmaps = [p for p in files if "/configmaps/" in p]
    assert configmaps and not any(isinstance(files[p], bytes | Deferred) for p in configmaps)
    # And what they hold is what the targets render.
    assert {p: Tree(files)[p] for p in files} == {p: result.files[p] for p in files}


def test_with_an_alertmanager_section_the_component_runs_one_and_prometheus_sends_to_it(
    kubectl: str, promtool: str, tmp_path: Path
) -> None:
    """Issue 39: the platform runs no Alertmanager. With the Prometheus engine and an
    alertmanager section the Component adds one serving the generated configuration, the
    receivers' secrets mounted from a Secret as the files that configuration names, and
    Prometheus' config (the platform's own, read from its manifest) sends alerts to it."""
    repo = _platform_repo(tmp_path)
    config = repo / "slo-compiler.yaml"
    config.write_text(
        config.read_text().replace("alert_engine: grafana", "alert_engine: prometheus")
        + "alertmanager: {version: '0.28'}\n"
    )
    result = cli("compile", cwd=repo)
    assert result.returncode == 0, result.stderr
    docs = build(kubectl, repo / "platform/overlays/kind")
    served = find(docs, "ConfigMap", "slo-alertmanager")["data"]["alertmanager.yml"]
    assert served == (repo / "generated/alertmanager/alertmanager.yml").read_text()
    spec = pod(docs, "alertmanager")
    mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert mounts["secrets"] == "/etc/alertmanager/secrets"
    assert volumes["secrets"]["secret"]["secretName"] == "alertmanager-secrets"
    assert "routing_key_file: /etc/alertmanager/secrets/PAGERDUTY_INTEGRATION_KEY" in served
    assert spec["containers"][0]["image"] == "quay.io/prometheus/alertmanager:v0.28.0"
    assert find(docs, "Service", "alertmanager")["spec"]["ports"][0]["port"] == 9093
    prometheus_yml = yaml.safe_load(
        find(docs, "ConfigMap", "prometheus-config")["data"]["prometheus.yml"]
    )
    assert prometheus_yml["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    }
    prometheus_yml["rule_files"] = []
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prometheus_yml))
    checked = run(promtool, "check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
