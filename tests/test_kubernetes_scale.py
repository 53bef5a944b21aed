"""Issue 25: the kind Component within what `kubectl apply` accepts at any number of
services. The ConfigMaps are packed (targets/shards.py) and mounted through projected
volumes; built here with the real `kubectl kustomize` on the fixture platform overlay."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, cli, json_server, read_tree, require_tool, run

from slo_compiler.targets.shards import APPLY_LIMIT

SERVICES = 2000
MIB = 2**20


def _services(repo: Path, names: list[str], slos: int = 1) -> None:
    """Services cloned from the gateway's SLO file (`slos` copies of its SLO in each)."""
    text = (ROOT / "slos/gateway-service.yaml").read_text()
    head, slo = text.split("slos:\n", 1)
    many = "".join(
        slo.replace("name: availability", f"name: availability-{i}").replace(
            "AvailabilityBudgetBurn", f"Availability{i}BudgetBurn"
        )
        for i in range(slos)
    )
    for name in names:
        (repo / f"slos/{name}.yaml").write_text(
            (head + "slos:\n" + many).replace("gateway-service", name)
        )


def _repository(tmp_path: Path) -> Path:
    (tmp_path / "slos").mkdir()
    shutil.copy(ROOT / "slo-compiler.yaml", tmp_path)
    shutil.copytree(ROOT / "tests/fixtures", tmp_path / "tests/fixtures")
    return tmp_path


def _built(repo: Path) -> list[dict[str, Any]]:
    kubectl = require_tool("kubectl")
    done = run(kubectl, "kustomize", str(repo / "tests/fixtures/platform/overlays/kind"))
    assert done.returncode == 0, done.stderr[-2000:]
    return [d for d in yaml.load_all(done.stdout, Loader=yaml.CSafeLoader) if d]


def _sources(docs: list[dict[str, Any]], deployment: str, mount: str) -> list[str]:
    """The ConfigMaps projected into `mount` of `deployment`'s first container."""
    [pod] = [
        d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] == "Deployment" and d["metadata"]["name"] == deployment
    ]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    [volume] = [v for v in pod["volumes"] if v["name"] == mounts[mount]]
    return [s["configMap"]["name"] for s in volume["projected"]["sources"]]


def test_two_thousand_services_fit_kubectl_apply_and_every_file_is_mounted(
    tmp_path: Path,
) -> None:
    repo = _repository(tmp_path)
    names = [f"svc{i:04d}" for i in range(SERVICES)]
    _services(repo, names)
    compiled = cli("compile", "-q", "--target", "kubernetes", cwd=repo)
    assert compiled.returncode == 0, compiled.stderr
    docs = _built(repo)
    for doc in docs:
        size = len(json.dumps(doc, separators=(",", ":")).encode())
        assert size < APPLY_LIMIT, (doc["kind"], doc["metadata"]["name"], size)
        if doc["kind"] == "ConfigMap":
            assert sum(len(v.encode()) for v in doc.get("data", {}).values()) < MIB
    configmaps = {
        d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
    }

    def mounted(deployment: str, mount: str) -> set[str]:
        keys: list[str] = []
        for name in _sources(docs, deployment, mount):
            keys += configmaps[name]
        assert len(keys) == len(set(keys)), "a file in two ConfigMaps of one folder"
        return set(keys)

    rules = {f"{n}.availability-0.rules.yaml" for n in names}  # per SLO: <file>.<slo>
    assert mounted("prometheus", "/etc/prometheus-rules") == rules
    assert mounted("grafana", "/var/lib/grafana/slo-dashboards") == {f"{n}.json" for n in names}
    alerting = mounted("grafana", "/etc/grafana/provisioning/alerting")
    assert alerting == {f"{n}.rules.yaml" for n in names} | {"contact-points.yaml", "policies.yaml"}
    assert len(_sources(docs, "grafana", "/var/lib/grafana/slo-dashboards")) > 16


def test_adding_a_service_changes_one_configmap_of_each_kind_at_most(tmp_path: Path) -> None:
    """The shards' names and contents do not depend on the other services: a new one lands
    in one ConfigMap per kind of file (or splits that one)."""
    repo = _repository(tmp_path)
    _services(repo, [f"svc{i:03d}" for i in range(300)])
    assert cli("compile", "-q", "--target", "kubernetes", cwd=repo).returncode == 0
    before = read_tree(repo / "generated/k8s/kind/configmaps")
    assert len(before) > 10
    _services(repo, ["newcomer"])
    assert cli("compile", "-q", "--target", "kubernetes", cwd=repo).returncode == 0
    after = read_tree(repo / "generated/k8s/kind/configmaps")
    touched = {k for k in before if after.get(k) != before[k]}
    kinds = {name.rsplit("-", 1)[0] for name in touched}
    assert len(touched) == len(kinds) <= 3, touched


def test_a_service_too_large_for_any_configmap_is_a_positioned_error(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    _services(repo, ["huge"], slos=120)
    before = sorted(repo.iterdir())
    result = cli("compile", "--target", "kubernetes", cwd=repo)
    assert result.returncode == 1
    lines = [x for x in result.stderr.splitlines() if "error[K001]" in x]
    assert lines and all(x.startswith("slos/huge.yaml:1:1: error[K001]: ConfigMap ") for x in lines)
    assert any("with huge.json alone" in x for x in lines)
    assert all("kubectl apply --server-side" in x for x in lines)
    assert sorted(repo.iterdir()) == before  # nothing written


@pytest.fixture(autouse=True)
def _kubectl() -> None:
    require_tool("kubectl")


_DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "configmaps",
                "singularName": "configmap",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["create", "get", "list", "patch", "update", "delete"],
            }
        ],
    },
}


@pytest.fixture
def discovery() -> Iterator[str]:
    """The API server's discovery documents only: what kubectl asks before a client-side
    dry run, which then builds the object and its annotation itself."""

    def route(path: str, _query: str) -> tuple[int, object]:
        doc = _DISCOVERY.get(path)
        return (200, doc) if doc else (404, {"kind": "Status", "code": 404})

    with json_server(route) as url:
        yield url


def test_configmaps_fit_kubectls_own_annotation_with_hostile_text(
    tmp_path: Path, discovery: str
) -> None:
    """Issue 35 item 1: sizes were counted in Python's JSON, but kubectl's (Go's) writes
    `<`, `>` and `&` as six-byte escapes: 300 services whose description reads "answered
    < 300 ms & > 99.9%" and a runbook URL with five `&` made a ConfigMap whose
    last-applied annotation was 262,232 bytes, over the limit, while compile exited 0
    (here, with more of them, 326,053). Each ConfigMap is measured as the real kubectl
    writes its annotation."""
    kubectl = require_tool("kubectl")
    repo = _repository(tmp_path)
    names = [f"svc{i:04d}" for i in range(200)]
    _services(repo, names)
    description = "Requests through the gateway that are answered without a server error"
    runbook = "https://runbooks.example/platform/gateway-availability"
    hostile = '"answered < 300 ms & > 99.9%' + " <&>" * 60 + '"'
    link = "https://runbooks.example/r?" + "&".join(f"a{i}=1" for i in range(40))
    for name in names:
        path = repo / f"slos/{name}.yaml"
        path.write_text(path.read_text().replace(description, hostile).replace(runbook, link))
    compiled = cli("compile", "-q", "--target", "kubernetes", cwd=repo)
    assert compiled.returncode == 0, compiled.stderr
    maps = [d for d in _built(repo) if d["kind"] == "ConfigMap"]
    (tmp_path / "maps.yaml").write_text(yaml.safe_dump_all(maps))
    created = run(
        kubectl, f"--server={discovery}", "create", "--dry-run=client", "--validate=false",
        "--save-config", "-o", "json", "-f", str(tmp_path / "maps.yaml"),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr[-2000:]
    items, text, at = [], created.stdout, 0
    decoder = json.JSONDecoder()
    while text[at:].strip():  # one JSON object a ConfigMap, one after the other
        item, at = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        items.append(item)
    assert len(items) == len(maps)
    key = "kubectl.kubernetes.io/last-applied-configuration"
    sizes = {i["metadata"]["name"]: len(i["metadata"]["annotations"][key].encode()) for i in items}
    assert max(sizes.values()) < APPLY_LIMIT, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    # The hostile text is in them, escaped as Go escapes it (the test would pass on text
    # without it).
    assert any("\\u003c" in i["metadata"]["annotations"][key] for i in items)
