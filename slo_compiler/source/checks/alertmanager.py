"""The config's `alertmanager` section: every receiver setting Alertmanager can take (each
one it cannot is an error at the setting, source/alertmanager.py says why), a routing
section to render, the mail relay's password from a file, and the hand-written
configuration it merges into (`alertmanager.base`), read with positions of its own."""

from __future__ import annotations

from typing import Any

from ...diagnostics import Code, Diagnostic
from ..alertmanager import receiver_config
from ..config import Config
from ..credentials import is_reference
from ..files import Source
from ..yamlpos import SourceMap, load

SECTION = "alertmanager"


def check_alertmanager(config: Config, source: SourceMap) -> list[Diagnostic]:
    """Nothing without the section: Grafana alone routes then."""
    if SECTION not in config.model_fields_set:
        return []
    out = []
    if config.routing is None:
        out.append(
            source.diagnostic(
                (SECTION,), Code.MISSING_FIELD, "an alertmanager section needs a routing section"
            )
        )
    for i, receiver in enumerate(config.receivers):
        for setting, why in receiver_config(receiver, config.alertmanager)[1]:
            where = ("receivers", i, "settings", setting)
            out.append(source.diagnostic(where, Code.ALERTMANAGER_UNSUPPORTED, why))
    smtp = config.alertmanager.smtp
    if smtp is not None and smtp.auth_password is not None and not is_reference(smtp.auth_password):
        out.append(
            source.diagnostic(
                (SECTION, "smtp", "auth_password"),
                Code.LITERAL_SECRET,
                "the mail relay's password must be $__env{NAME} or $__file{/path}: "
                "Alertmanager reads it from a file",
            )
        )
    return out


def _names(doc: Any) -> list[tuple[int, str]]:
    receivers = doc.get("receivers") or []
    if not isinstance(receivers, list):
        return []
    return [(i, r["name"]) for i, r in enumerate(receivers) if isinstance(r, dict) and "name" in r]


def read_base(config: Config, base: Source, where: SourceMap) -> list[Diagnostic]:
    """Parse the hand-written configuration and keep it on `config`: problems in it are
    reported in that file (duplicate keys, a root route without a receiver, a receiver
    named as one of ours); Alertmanager's own check (amtool check-config) judges the rest."""
    doc, problems = load(base.path, base.data)
    if doc is None or problems:
        return problems
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("route"), dict):
        return [
            doc.source.diagnostic(
                (), Code.MISSING_FIELD, "an Alertmanager configuration needs a route mapping"
            )
        ]
    if not isinstance(data["route"].get("routes", []), list):
        return [doc.source.diagnostic(("route", "routes"), Code.INVALID_VALUE, "must be a list")]
    ours = {r.name for r in config.receivers}
    clashes = [
        doc.source.diagnostic(
            ("receivers", i, "name"),
            Code.DUPLICATE_RECEIVER,
            f"receiver '{name}' is also one of the config's receivers ({where.path}): rename "
            "one of them",
        )
        for i, name in _names(data)
        if name in ours
    ]
    if clashes:
        return clashes
    config._alertmanager_base = data
    config._alertmanager_source = base.name
    return []
