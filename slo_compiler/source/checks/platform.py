"""The platform's own Prometheus config, read from its overlay's manifest.

A ConfigMap's key is replaced whole by a patch, so the Component must write the platform's
entire prometheus.yml: one written from assumptions would replace the platform's own
targets and leave Prometheus scraping nothing. Read from the manifest
(`kubernetes.prometheus_config_file`), it is kept exactly, jobs, targets, labels and
intervals, and the compile adds only its `rule_files`; a target the platform adds tomorrow
is in the next compile, and `check` sees the manifest change like any other input.
"""

from __future__ import annotations

from typing import Any

import yaml

from ...base.durations import format_duration
from ...diagnostics import Code, Diagnostic
from ..config import Config
from ..prometheus_yml import platform_interval, prometheus_yml_problems
from ..yamlpos import SourceMap

FIELD = ("kubernetes", "prometheus_config_file")


def _configmap_text(docs: list[Any], name: str, key: str) -> str | None:
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "ConfigMap":
            continue
        if (doc.get("metadata") or {}).get("name") == name:
            text = (doc.get("data") or {}).get(key)
            return text if isinstance(text, str) else None
    return None


def read_into(config: Config, manifest: Any, where: SourceMap) -> list[Diagnostic]:
    """Parse `manifest` (a Source) and keep its prometheus.yml on `config`; every problem
    is reported at the config's prometheus_config_file, naming the manifest."""
    k = config.kubernetes

    def problem(code: Code, message: str) -> list[Diagnostic]:
        return [where.diagnostic(FIELD, code, f"{manifest.path}: {message}")]

    try:
        docs = list(yaml.safe_load_all(manifest.data))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        return problem(Code.YAML_SYNTAX, f"not a readable YAML manifest{at}")
    text = _configmap_text(docs, k.prometheus_configmap, k.prometheus_config_key)
    if text is None:
        return problem(
            Code.MISSING_FIELD,
            f"no ConfigMap '{k.prometheus_configmap}' with a key '{k.prometheus_config_key}' "
            "(kubernetes.prometheus_configmap and prometheus_config_key name them)",
        )
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return problem(Code.YAML_SYNTAX, f"'{k.prometheus_config_key}' is not readable YAML")
    problems = prometheus_yml_problems(parsed)
    if problems:
        return [
            p
            for _, why in problems
            for p in problem(Code.INVALID_VALUE, f"'{k.prometheus_config_key}' {why}")
        ]
    config._platform = parsed
    config._platform_source = manifest.name
    return _agrees(config, where)


def _agrees(config: Config, where: SourceMap) -> list[Diagnostic]:
    """An evaluation interval in the config must be the one Prometheus really uses."""
    if config.evaluation_interval is None:
        return []
    theirs = platform_interval(config.prometheus_yml)
    if theirs == config.rule_interval:
        return []
    return [
        where.diagnostic(
            ("evaluation_interval",),
            Code.INVALID_VALUE,
            f"the platform's prometheus.yml evaluates rules every {format_duration(theirs)}, not "
            f"{config.evaluation_interval}: drop evaluation_interval (it is read from there)",
        )
    ]
