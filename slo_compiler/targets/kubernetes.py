"""The kind overlay's piece: a kustomize Component under k8s/kind/ that wires the generated
rules, alerting and dashboards into the platform's Prometheus and Grafana.

A Component, not an overlay: the platform keeps its own kind overlay and adds one line,
`components: [<path>/generated/k8s/kind]`; the Component brings resources and patches but
no base of its own, so it composes with whatever the overlay already does.

What it brings (names from the config's `kubernetes` section, defaults the platform's):

* ConfigMaps (stable names, written out rather than generated so each carries the
  generated-file header): Prometheus rule files, Grafana alerting provisioning, the
  dashboards and their provider; each kind packed into as many as `kubectl apply` needs
  (shards.py) and mounted into one folder through a projected volume;
* the Prometheus config with `rule_files` (ConfigMap data can only be replaced whole, so
  the Component writes the full prometheus.yml: the platform's own, read from its manifest
  when the config names it, kept exactly, with only our rule_files added);
* the Prometheus Deployment: the rules mounted, retention raised to the longest SLO period
  plus a tenth but bounded in size below the claim (a full disk stops Prometheus), a
  checksum annotation so a rule change rolls the pod, and optionally the claim resized;
* the Grafana Deployment: alerting and dashboard provisioning mounted, the admin password
  and every contact-point secret from Secrets (secretKeyRef, never a value);
* the Grafana datasources file with pinned uids, which the generated queries name;
* with an alertmanager section (the platform runs none): an Alertmanager Deployment and
  Service serving the generated configuration, its receivers' secrets mounted from a
  Secret as files, and Prometheus' config pointed at it.

ConfigMap mounts are read-only, so nothing is mounted inside another mount: our dashboards
get their own folder, and the dashboard-provider folder becomes a projected volume holding
the platform's provider and ours.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..base.durations import format_duration, parse_duration
from ..diagnostics import Code, CompileError, Diagnostic
from ..emit.text import header, yaml_file, yaml_text
from ..emit.tree import Content, Packed
from ..rules.ir import SourcePlan, slo_folder
from ..source.config import Config
from ..source.credentials import env_names
from . import Files, Folder, Kind, Output, Target
from .alertmanager import FILE as ALERTMANAGER_FILE
from .shards import APPLY_LIMIT, BOUND, member_size, object_size, pack, shard_name

FOLDER = "k8s/kind"
RULES_DIR = "/etc/prometheus-rules"
ALERTING_DIR = "/etc/grafana/provisioning/alerting"
PROVIDERS_DIR = "/etc/grafana/provisioning/dashboards"
RULES_CONFIGMAP = "slo-prometheus-rules"
ALERTING_CONFIGMAP = "slo-grafana-alerting"
DASHBOARDS_CONFIGMAP = "slo-grafana-dashboards"
PROVIDER_CONFIGMAP = "slo-grafana-dashboard-provider"
PROVIDERS_VOLUME = "slo-grafana-dashboard-providers"
CHECKSUM = "slo-compiler/checksum"
ALERTMANAGER = "alertmanager"
ALERTMANAGER_PORT = 9093
ALERTMANAGER_CONFIGMAP = "slo-alertmanager"
ALERTMANAGER_DIR = "/etc/alertmanager/config"
DAY = 86400


def _configmap(name: str, data: dict[str, bytes]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "slo-compiler"}},
        "data": {
            key.rsplit("/", 1)[-1]: value.decode("utf-8") for key, value in sorted(data.items())
        },
    }


def _entry(name: str, data: bytes) -> bytes:
    """What a checksum of files reads of one: its name and its bytes."""
    return name.encode() + b"\0" + data + b"\0"


def _checksum(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in sorted(files.items()):
        digest.update(_entry(name, data))
    return digest.hexdigest()[:16]


def retention(plans: list[SourcePlan]) -> str:
    """The longest SLO period plus a tenth, in whole days: the period's ratio reads that
    far back, and the burn-down panel shows it."""
    longest = max((s.period for p in plans for s in p.slos), default=30 * DAY)
    return format_duration(math.ceil(longest * 1.1 / DAY) * DAY)


def prometheus_config(config: Config, alertmanager: bool = False) -> dict[str, Any]:
    """The platform's prometheus.yml, unchanged but for our rule files (after its own),
    placed after `global` (last when there is none); with `alertmanager`, alerts sent to
    the Alertmanager the Component adds, where the platform names none of its own."""
    ours = f"{RULES_DIR}/*.rules.yaml"
    theirs = config.prometheus_yml.get("rule_files") or []
    rule_files = [*theirs, *([] if ours in theirs else [ours])]
    out: dict[str, Any] = {}
    for key, value in config.prometheus_yml.items():
        if key != "rule_files":
            out[key] = value
        if key == "global":
            out["rule_files"] = rule_files
    out.setdefault("rule_files", rule_files)
    if alertmanager and config.prometheus_alerts and "alerting" not in out:
        target = f"{ALERTMANAGER}:{ALERTMANAGER_PORT}"
        out["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    return out


_MIB = 2**20
_UNIT = {"Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
# Bytes a sample takes on disk: Prometheus' documented 1-2 after compression, the upper end.
BYTES_PER_SAMPLE = 2
# Of the claim, what retention may fill: the rest is for the WAL and compaction.
SIZE_SHARE = 0.8


def _mebibytes(size: str) -> int:
    return int(size[:-2]) * _UNIT[size[-2:]]


def retention_size(config: Config) -> str:
    """--storage.tsdb.retention.size: a share of the claim (Prometheus' MB are MiB)."""
    return f"{int(_mebibytes(config.kubernetes.prometheus_volume_size) * SIZE_SHARE)}MB"


def scrape_interval(config: Config) -> int:
    """The shortest scrape interval of the platform's jobs (the global one by default)."""
    yml = config.prometheus_yml
    default = (yml.get("global") or {}).get("scrape_interval", "1m")
    found = [job.get("scrape_interval", default) for job in yml.get("scrape_configs") or []]
    return min(parse_duration(str(d)) for d in found or [default])


def disk_note(plans: list[SourcePlan], config: Config) -> list[str]:
    """What generated/README.md says of Prometheus' disk: what the retention needs at the
    platform's series and scrape interval, and what the claim holds."""
    days = parse_duration(retention(plans)) // DAY
    interval = scrape_interval(config)
    series = config.kubernetes.prometheus_series
    per_day = series * DAY // interval * BYTES_PER_SAMPLE
    needed_gib = per_day * days / 2**30
    bound = _mebibytes(config.kubernetes.prometheus_volume_size) * SIZE_SHARE * _MIB
    fits = bound / per_day
    return [
        "## Prometheus disk",
        "",
        f"The longest SLO period needs a retention of {days}d. At "
        f"{series:,} series (kubernetes.prometheus_series) scraped every "
        f"{format_duration(interval)}, that is about {needed_gib:.1f} GiB "
        f"({BYTES_PER_SAMPLE} bytes a sample, the upper end of Prometheus' figure). The claim "
        f"`{config.kubernetes.prometheus_claim}` is {config.kubernetes.prometheus_volume_size}, "
        f"and retention is bounded at {retention_size(config)} "
        f"(`--storage.tsdb.retention.size`) so that a full disk never stops Prometheus: "
        f"about {fits:.0f} days fit"
        + (
            ". Until the claim holds the whole period, the period's ratio and the burn-down "
            "panel see only that much history: set kubernetes.prometheus_volume_size to "
            f"about {math.ceil(needed_gib / SIZE_SHARE)}Gi and resize_claim: true (the "
            "storage class must allow expansion)."
            if fits < days
            else "."
        ),
        "",
    ]


def _deployment_patch(
    name: str, checksum: str, container: dict[str, Any], volumes: list[dict[str, Any]]
) -> dict[str, Any]:
    """A strategic-merge patch of one Deployment: a container's changes, volumes, and a
    checksum of the files it serves, so that changing them rolls the pod."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"annotations": {CHECKSUM: checksum}},
                "spec": {"containers": [container], "volumes": volumes},
            }
        },
    }


def _configmap_patch(name: str, key: str, doc: dict[str, Any], config: Config) -> dict[str, Any]:
    """A patch replacing one file of an existing ConfigMap (its data can only be replaced
    whole), the file carrying the generated-file header."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {key: header(config.sources) + yaml_text(doc)},
    }


def _projected(name: str, configmaps: list[str]) -> dict[str, Any]:
    """One volume, one folder, of every ConfigMap a kind of file is packed into."""
    return {
        "name": name,
        "projected": {"sources": [{"configMap": {"name": c}} for c in configmaps]},
    }


def _alertmanager(config: Config, served: bytes) -> list[dict[str, Any]]:
    """The Alertmanager the platform lacks: one replica serving the generated
    configuration (its checksum rolls the pod), each receiver secret a file of the Secret
    at alertmanager.secrets_dir, and a Service Prometheus sends alerts to."""
    labels = {"app": ALERTMANAGER}
    release = f"v{config.alertmanager.version}.0"
    container = {
        "name": ALERTMANAGER,
        "image": f"quay.io/prometheus/alertmanager:{release}",
        "args": [
            f"--config.file={ALERTMANAGER_DIR}/alertmanager.yml",
            "--storage.path=/alertmanager",
        ],
        "ports": [{"name": "http", "containerPort": ALERTMANAGER_PORT}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": ALERTMANAGER_PORT}},
        "volumeMounts": [
            {"name": "config", "mountPath": ALERTMANAGER_DIR, "readOnly": True},
            {"name": "secrets", "mountPath": config.alertmanager.secrets_dir, "readOnly": True},
            {"name": "data", "mountPath": "/alertmanager"},
        ],
    }
    volumes = [
        {"name": "config", "configMap": {"name": ALERTMANAGER_CONFIGMAP}},
        {"name": "secrets", "secret": {"secretName": config.kubernetes.alertmanager_secret}},
        {"name": "data", "emptyDir": {}},
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": ALERTMANAGER, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {CHECKSUM: _checksum({"alertmanager.yml": served})},
                },
                "spec": {"containers": [container], "volumes": volumes},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": ALERTMANAGER, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": ALERTMANAGER_PORT, "targetPort": "http"}],
        },
    }
    return [deployment, service]


def _prometheus_patches(
    config: Config, plans: list[SourcePlan], checksum: str, shards: list[str], alerts: bool
) -> list[dict[str, Any]]:
    k = config.kubernetes
    container = {
        "name": k.prometheus_container,
        # args is a list of strings: a patch replaces it whole.
        "args": [
            f"--config.file=/etc/prometheus/{k.prometheus_config_key}",
            "--storage.tsdb.path=/prometheus",
            f"--storage.tsdb.retention.time={retention(plans)}",
            f"--storage.tsdb.retention.size={retention_size(config)}",
            "--web.enable-lifecycle",
        ],
        "volumeMounts": [{"name": RULES_CONFIGMAP, "mountPath": RULES_DIR, "readOnly": True}],
    }
    patches = [
        _configmap_patch(
            k.prometheus_configmap,
            k.prometheus_config_key,
            prometheus_config(config, alerts),
            config,
        ),
        _deployment_patch(
            k.prometheus_deployment,
            checksum,
            container,
            [_projected(RULES_CONFIGMAP, shards)],
        ),
    ]
    if k.resize_claim:
        patches.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": k.prometheus_claim},
                "spec": {"resources": {"requests": {"storage": k.prometheus_volume_size}}},
            }
        )
    return patches


def secret_env(config: Config) -> list[str]:
    """Every $__env{NAME} the contact points read, sorted."""
    names = set()
    for receiver in config.receivers:
        for value in receiver.settings.values():
            if isinstance(value, str):
                names.update(env_names(value))
    return sorted(names)


def _grafana_env(config: Config) -> list[dict[str, Any]]:
    """Grafana's secrets from Secrets: the admin password (a literal the base may set is
    dropped), and each `$__env{NAME}` of the contact points."""
    k = config.kubernetes
    env: list[dict[str, Any]] = [
        {
            "name": "GF_SECURITY_ADMIN_PASSWORD",
            "value": None,  # drops a literal the base may set
            "valueFrom": {"secretKeyRef": {"name": k.admin_secret, "key": "admin-password"}},
        }
    ]
    return env + [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": k.alerting_secret, "key": name}}}
        for name in secret_env(config)
    ]


def _grafana_volumes(
    config: Config, shards: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(mounts, volumes): the alerting files, the dashboards and their provider, each
    projected from as many ConfigMaps as they fill."""
    k = config.kubernetes
    mounts = [
        {"name": ALERTING_CONFIGMAP, "mountPath": ALERTING_DIR, "readOnly": True},
        {
            "name": DASHBOARDS_CONFIGMAP,
            "mountPath": config.grafana.dashboards_path,
            "readOnly": True,
        },
        {"name": PROVIDERS_VOLUME, "mountPath": PROVIDERS_DIR, "readOnly": True},
    ]
    providers = [
        {"configMap": {"name": k.grafana_dashboard_providers_configmap, "optional": True}},
        {"configMap": {"name": PROVIDER_CONFIGMAP}},
    ]
    volumes = [
        _projected(ALERTING_CONFIGMAP, shards[ALERTING_CONFIGMAP]),
        _projected(DASHBOARDS_CONFIGMAP, shards[DASHBOARDS_CONFIGMAP]),
        {"name": PROVIDERS_VOLUME, "projected": {"sources": providers}},
    ]
    return mounts, volumes


def _datasources(config: Config) -> dict[str, Any]:
    """Grafana's datasources: the platform's Prometheus under the uid the dashboards and
    rules name, its minimum step the platform's global scrape interval; and Loki."""
    k = config.kubernetes
    step = (config.prometheus_yml.get("global") or {}).get("scrape_interval", "1m")
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": config.grafana.datasource_uid,
                "type": "prometheus",
                "access": "proxy",
                "url": k.prometheus_url,
                "isDefault": True,
                "jsonData": {"timeInterval": step},
            },
            {"name": "Loki", "uid": "loki", "type": "loki", "access": "proxy", "url": k.loki_url},
        ],
    }


def _grafana_patches(
    config: Config, checksum: str, shards: dict[str, list[str]]
) -> list[dict[str, Any]]:
    k = config.kubernetes
    mounts, volumes = _grafana_volumes(config, shards)
    container = {"name": k.grafana_container, "env": _grafana_env(config), "volumeMounts": mounts}
    deployment = _deployment_patch(k.grafana_deployment, checksum, container, volumes)
    datasource_patch = _configmap_patch(
        k.grafana_datasources_configmap, k.grafana_datasources_key, _datasources(config), config
    )
    return [deployment, datasource_patch]


NEEDS = ("prometheus", "grafana-alerting", "grafana-dashboards", "alertmanager")
# A ConfigMap's JSON without files, with the longest name a shard can have.
_EMPTY = object_size(_configmap("slo-grafana-dashboard-provider-" + "f" * 16, {}))


@dataclass
class _Kind:
    """The files of one kind (rule files, alerting, dashboards, the provider), as the
    Component packs them: sizes and a checksum from one pass over them, the files kept
    compressed until their ConfigMaps are written."""

    members: dict[str, Packed] = field(default_factory=dict)  # by file name
    sizes: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # file name -> path
    digest: Any = field(default_factory=hashlib.sha256)

    def add(self, path: str, data: bytes, packed: Packed) -> None:
        name = path.rsplit("/", 1)[-1]
        self.members[name], self.sources[name] = packed, path
        self.sizes[name] = member_size(name, data)
        self.digest.update(_entry(name, data))  # in name order, as _checksum


def _read(generated: Files, prefix: str, suffix: str) -> _Kind:
    kind = _Kind()
    for path in generated:
        if path.startswith(prefix) and path.endswith(suffix):
            data = generated[path]  # rendered once, kept compressed by the tree
            kind.add(path, data, generated.packed(path))
    return kind


def _configmap_file(sources: list[str], name: str, members: dict[str, Packed]) -> bytes:
    """One ConfigMap's manifest, made when the writer reads it: a fleet's ConfigMaps are
    tens of MB, held compressed until then."""
    return yaml_file(sources, _configmap(name, {k: p() for k, p in members.items()}))


def render(plans: list[SourcePlan], config: Config, generated: Files) -> Output:
    """The Component, packing what the targets it NEEDS rendered (`generated`)."""
    sources = [slo_folder(plans), *config.sources]
    kinds = {
        RULES_CONFIGMAP: ("prometheus/", ".rules.yaml"),
        ALERTING_CONFIGMAP: ("grafana/alerting/", ""),
        DASHBOARDS_CONFIGMAP: ("grafana/dashboards/", ""),
        PROVIDER_CONFIGMAP: ("grafana/dashboard-providers/", ""),
    }
    files: dict[str, Content] = {}
    shards: dict[str, list[str]] = {}
    sums: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for base, (prefix, suffix) in kinds.items():
        kind = _read(generated, prefix, suffix)
        sums[base] = kind.digest.hexdigest()[:16]
        packed = pack(kind.sizes, _EMPTY)
        shards[base] = [shard_name(base, p) for p in packed]
        for hash_prefix, names in packed.items():
            name = shard_name(base, hash_prefix)
            size = object_size(_configmap(name, {})) + sum(kind.sizes[n] for n in names) - 1
            if size > BOUND and len(names) == 1:
                problems.append(_file_too_large(name, size, kind.sources[names[0]], plans, config))
            members = {n: kind.members[n] for n in names}
            files[f"{FOLDER}/configmaps/{name}.yaml"] = partial(
                _configmap_file, sources, name, members
            )
    served = generated.get(ALERTMANAGER_FILE)
    if served is not None:
        configmap = _configmap(ALERTMANAGER_CONFIGMAP, {"alertmanager.yml": served})
        files[f"{FOLDER}/configmaps/{ALERTMANAGER_CONFIGMAP}.yaml"] = yaml_file(sources, configmap)
        for resource in _alertmanager(config, served):
            path = f"{FOLDER}/resources/{ALERTMANAGER}-{resource['kind'].lower()}.yaml"
            files[path] = yaml_file(sources, resource)
    prometheus_config, prometheus_deployment, *claim = _prometheus_patches(
        config, plans, sums[RULES_CONFIGMAP], shards[RULES_CONFIGMAP], served is not None
    )
    grafana = (ALERTING_CONFIGMAP, DASHBOARDS_CONFIGMAP, PROVIDER_CONFIGMAP)
    provisioning = _checksum({k: sums[k].encode() for k in grafana})
    grafana_deployment, grafana_datasources = _grafana_patches(config, provisioning, shards)
    patches = {
        "prometheus-config.yaml": prometheus_config,
        "prometheus-deployment.yaml": prometheus_deployment,
        **({"prometheus-claim.yaml": claim[0]} if claim else {}),
        "grafana-deployment.yaml": grafana_deployment,
        "grafana-datasources.yaml": grafana_datasources,
    }
    for name, patch in patches.items():
        problems += _patch_too_large(patch, config)
        files[f"{FOLDER}/patches/{name}"] = yaml_file(sources, patch)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": sorted(
            p.removeprefix(f"{FOLDER}/") for p in files if "/configmaps/" in p or "/resources/" in p
        ),
        "patches": [{"path": f"patches/{name}"} for name in patches],
    }
    files[f"{FOLDER}/kustomization.yaml"] = yaml_file(sources, kustomization)
    if problems:
        raise CompileError(problems)
    return Output(files)


_LIMIT = f"over the {APPLY_LIMIT:,} bytes `kubectl apply` keeps of an object"


def _file_too_large(
    name: str, size: int, path: str, plans: list[SourcePlan], config: Config
) -> Diagnostic:
    """One file too large for a ConfigMap of its own, said at its SLO file."""
    key = path.rsplit("/", 1)[-1]
    stem = key.split(".", 1)[0]
    source = next((p.source for p in plans if p.stem == stem), config.source)
    return Diagnostic(
        source,
        1,
        1,
        Code.OUTPUT_TOO_LARGE,
        f"ConfigMap {name} would be {size:,} bytes with {key} alone, {_LIMIT}: give the "
        "service fewer SLOs, or deploy its files with server-side apply "
        "(kubectl apply --server-side)",
    )


def _patch_too_large(patch: dict[str, Any], config: Config) -> list[Diagnostic]:
    """A patch grown too large for `kubectl apply` (said at the config)."""
    size = object_size(patch)
    if size <= BOUND:
        return []
    what = f"{patch['kind']} {patch['metadata']['name']} would be {size:,} bytes"
    return [
        Diagnostic(
            config.source,
            1,
            1,
            Code.OUTPUT_TOO_LARGE,
            f"{what}, {_LIMIT}: too many services for one Component",
        )
    ]


TARGET = Target(
    render,
    folders=(
        Folder(
            "k8s/kind",
            "A kustomize Component for the platform's kind overlay: ConfigMaps with all of "
            "the above, and patches that mount them, add `rule_files` to the platform's own "
            "Prometheus config, raise retention (bounded below the claim, see below), pin "
            "the datasource uid and take every secret from Secrets.",
            "Add `components: [<path to>/generated/k8s/kind]` to the overlay's "
            "kustomization.yaml, then `kubectl apply -k <overlay>`. Create the Secrets "
            "first: `kubectl create secret generic grafana-admin "
            "--from-literal=admin-password=...` and `kubectl create secret generic "
            "grafana-alerting-secrets --from-env-file=...` (one key per `$__env{NAME}` of "
            "the contact points).",
        ),
    ),
    kinds=(Kind("k8s/", ".yaml", "Kubernetes manifest"),),
    needs=NEEDS,
    notes=disk_note,
    section="kubernetes",
)
