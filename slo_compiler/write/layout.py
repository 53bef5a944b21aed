"""generated/README.md: what each folder of the generated tree is and how to use it.

Written last, from the files the targets produced, so it describes exactly the folders
that exist in this compile (a `--target` subset gets a shorter README).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..emit.text import header, header_line

README = "README.md"
GITIGNORE = ".gitignore"
# The list of the files a compile wrote, its proof that it may replace the folder (folder.py).
MANIFEST = ".slo-compiler-manifest"
# What the last compile was made from (record.py); in the folder, never part of the tree.
RECORD = ".slo-compiler-cache.json"

# folder -> (what it is, how to use it); in the order the README lists them.
FOLDERS: dict[str, tuple[str, str]] = {
    "prometheus": (
        "Prometheus rule files, one per SLO file: recording rules (and the burn-rate "
        "alerts when Prometheus evaluates them).",
        "Load with `rule_files:`; check with `promtool check rules prometheus/*.rules.yaml`.",
    ),
    "prometheus/tests": (
        "promtool unit tests proving every alert fires when it should and stays quiet "
        "when it should (plus the alerts as rules, when Grafana evaluates them).",
        "`cd prometheus/tests && promtool test rules *.test.yaml`",
    ),
    "grafana/alerting": (
        "Grafana unified-alerting file provisioning: alert rules, contact points, "
        "notification policies.",
        "Mount at `/etc/grafana/provisioning/alerting/`; set the `$__env{...}` variables "
        "in Grafana's environment.",
    ),
    "grafana/dashboards": (
        "One dashboard per service: SLI, error budget, burn rate per window, burn-down.",
        "Mount where the provider below points (`options.path`).",
    ),
    "grafana/dashboard-providers": (
        "The dashboard provider that loads the dashboards.",
        "Mount at `/etc/grafana/provisioning/dashboards/`.",
    ),
    "k8s/kind": (
        "A kustomize Component for the platform's kind overlay: ConfigMaps with all of the "
        "above, and patches that mount them, add `rule_files` to the platform's own "
        "Prometheus config, raise retention (bounded below the claim, see below), pin the "
        "datasource uid and take every secret from Secrets.",
        "Add `components: [<path to>/generated/k8s/kind]` to the overlay's "
        "kustomization.yaml, then `kubectl apply -k <overlay>`. Create the Secrets first: "
        "`kubectl create secret generic grafana-admin --from-literal=admin-password=...` "
        "and `kubectl create secret generic grafana-alerting-secrets --from-env-file=...` "
        "(one key per `$__env{NAME}` of the contact points).",
    ),
    "k8s/prometheus-operator": (
        "PrometheusRule objects for clusters with the Prometheus Operator.",
        "`kubectl apply -f k8s/prometheus-operator/`",
    ),
}


def readme(files: Iterable[str], sources: list[str], sections: list[str] = ()) -> bytes:
    """The README of the tree: a row per folder present, then target-specific `sections`
    (lines of Markdown, e.g. the Kubernetes Component's disk estimate)."""
    present = {path.rsplit("/", 1)[0] for path in files}
    lines = [
        f"<!-- {header_line(sources)} -->",
        "",
        "# generated/",
        "",
        "Everything here is written by `slo-compiler compile` from `slos/` and "
        "`slo-compiler.yaml`. Do not edit it: change the sources, compile, and commit both "
        "together. CI runs `slo-compiler check`, which fails when this tree is stale.",
        "",
        "| folder | what | how to use |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{folder}/` | {what} | {how} |"
        for folder, (what, how) in FOLDERS.items()
        if folder in present
    ]
    if sections:
        lines += ["", *sections]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")


def ownership(files: Iterable[str], sources: list[str]) -> dict[str, bytes]:
    """The manifest that proves the folder is ours (see folder.py), and a .gitignore that keeps
    the record of the last compile out of git."""
    listed = sorted({*files, GITIGNORE})
    manifest = (
        header(sources)
        + "# The files slo-compiler wrote into this folder. It replaces the folder only while\n"
        + "# it holds nothing else, so move anything of your own elsewhere.\n"
        + "".join(f"{path}\n" for path in listed)
    )
    ignore = header(sources) + f"/{RECORD}\n"
    return {MANIFEST: manifest.encode("utf-8"), GITIGNORE: ignore.encode("utf-8")}
