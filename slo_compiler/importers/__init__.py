"""`slo-compiler import FORMAT FILE|DIR...`: Sloth, OpenSLO and Pyrra specs -> SLO files.

Pure up to the bytes: input files in, one SLO file per service out (and every finding).
Each written file is then compiled on its own, SLO by SLO, so an import that reports no
error never writes a file that `compile` would refuse; a problem found there is reported
at the SLO's place in the input it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base.tiers import WORKBOOK_TIERS
from ..diagnostics import Code, Diagnostic
from ..emit.text import TOOL, sources_text, yaml_text
from ..rules.burnrate import decimal_str, error_budget, to_decimal
from ..source.model import API_VERSION, default_alert_name
from ..source.yamlpos import Document, load_all
from . import openslo, pyrra, sloth
from .base import Imported

Converter = Callable[[list[Document], str | None], tuple[list[Imported], list[Diagnostic]]]


FORMATS: dict[str, tuple[str, Converter]] = {
    "sloth": ("Sloth", sloth.convert_all),
    "openslo": ("OpenSLO", openslo.convert),
    "pyrra": ("Pyrra", pyrra.convert),
}


@dataclass
class Result:
    files: dict[str, bytes] = field(default_factory=dict)  # <service>.yaml -> text
    diagnostics: list[Diagnostic] = field(default_factory=list)
    slos: int = 0


def _file(service: str, entries: list[Imported]) -> dict[str, Any]:
    """Our SLO file for one service: the service's labels at the top when every input
    agrees on them, else on each SLO (its own labels win)."""
    shared = entries[0].service_labels
    common = all(e.service_labels == shared for e in entries)
    slos = []
    for e in entries:
        slo = dict(e.slo)
        if not common and e.service_labels:
            slo = _with_labels(slo, {**e.service_labels, **slo.get("labels", {})})
        slos.append(slo)
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "service": service}
    if common and shared:
        doc["labels"] = shared
    doc["slos"] = slos
    return doc


def _with_labels(slo: dict[str, Any], merged: dict[str, str]) -> dict[str, Any]:
    """`slo` with `labels` set, in the place the format puts it (after group_by)."""
    out = {k: v for k, v in slo.items() if k not in ("labels", "alerting")}
    out["labels"] = merged
    if "alerting" in slo:
        out["alerting"] = slo["alerting"]
    return out


def file_text(doc: dict[str, Any], sources: list[str], tool: str, schema: str) -> bytes:
    """The SLO file: the schema modeline editors read (as the examples have it), where it
    came from, then the document."""
    header = (
        f"# yaml-language-server: $schema={sources_text([schema])}\n"
        f"# Imported by {TOOL} from {sources_text(sources)} ({tool}).\n"
        f"# Yours from now on: edit it like any SLO file and run `{TOOL} compile`.\n"
    )
    return (header + yaml_text(doc)).encode("utf-8")


# What `compile` finds in the bytes of an SLO file: given by the command, which composes
# the importers with the compiler (they sit below it and never call it themselves).
Compiles = Callable[[bytes], list[Diagnostic]]


def _problems(doc: dict[str, Any], compiles: Compiles) -> list[Diagnostic]:
    """What `compile` finds in an SLO file made of `doc`."""
    return compiles(yaml_text(doc).encode("utf-8"))


def _compiles(
    imported: Imported, service_labels: dict[str, str], compiles: Compiles
) -> list[Diagnostic]:
    """The problems `compile` finds in this SLO alone, at its place in the input."""
    doc: dict[str, Any] = {"apiVersion": API_VERSION, "service": imported.service}
    if service_labels:
        doc["labels"] = service_labels
    doc["slos"] = [imported.slo]
    return [
        imported.findings.doc.source.diagnostic(
            imported.loc,
            Code.IMPORT_IMPOSSIBLE,
            f"the SLO as imported does not compile here: {d.message} [{d.code.value}]",
        )
        for d in _problems(doc, compiles)
    ]


def _unreachable_tiers(entry: Imported) -> list[Diagnostic]:
    """Tiers that can never fire at the SLO's objective (at 90%, page-fast's 14.4x of a 10%
    budget is over 100% of events): here a compile refuses them (V005), where the other
    tools keep a dead alert. The importer chooses the tiers, so it leaves those out and
    says so."""
    slo = entry.slo
    objective = slo.get("objective")
    if not isinstance(objective, int | float) or not 0 < objective < 100:
        return []
    budget = error_budget(to_decimal(objective))
    alerting = slo.setdefault("alerting", {})
    tiers = alerting.setdefault("tiers", {})
    found = []
    for tier in WORKBOOK_TIERS:
        options = tiers.get(tier.name) or {}
        if options.get("enabled") is False:
            continue
        factor = to_decimal(options.get("factor", float(tier.factor)))
        if factor * budget < 1:
            continue
        tiers[tier.name] = {"enabled": False}
        found.append(
            entry.findings.doc.source.diagnostic(
                entry.loc,
                Code.IMPORT_CHANGED,
                f"tier {tier.name} can never fire at a {decimal_str(to_decimal(objective))}% "
                f"objective ({decimal_str(factor)}x a {decimal_str(budget * 100)}% budget is "
                "over 100% of events): left out",
                level="warning",
            )
        )
    if len(tiers) == len(WORKBOOK_TIERS) and all(t.get("enabled") is False for t in tiers.values()):
        found.append(
            entry.findings.doc.source.diagnostic(
                entry.loc,
                Code.IMPORT_CHANGED,
                "every burn-rate alert is off; the alert that the SLI's series are missing "
                "is still generated here (drop it from your routes if it is not wanted)",
                level="warning",
            )
        )
    if not tiers:
        del alerting["tiers"]
    if not alerting:
        del slo["alerting"]
    return found


def _service_compiles(
    service: str, entries: list[Imported], compiles: Compiles
) -> list[Diagnostic]:
    """What `compile` finds across the SLOs of one service (each compiled alone already):
    an import that exits 0 writes only files that compile. Said at the service's first
    SLO in the input."""
    first = entries[0]
    return [
        first.findings.doc.source.diagnostic(
            first.loc,
            Code.IMPORT_IMPOSSIBLE,
            f"the SLOs of service '{service}' as imported do not compile together: "
            f"{d.message} [{d.code.value}]",
        )
        for d in _problems(_file(service, entries), compiles)
    ]


def _distinct_alert_names(entries: list[Imported]) -> list[Diagnostic]:
    """Sloth lets SLOs of one service share an alert name; here a name is the alerts' of
    one SLO (N004). A later SLO with a name taken gets its default name, and a warning
    that routes and silences keyed on the old name now match the first SLO only."""
    taken: dict[str, str] = {}
    found = []
    for entry in entries:
        slo = entry.slo
        default = default_alert_name(str(slo["name"]))
        alerting = slo.get("alerting")
        given = alerting.get("name") if isinstance(alerting, dict) else None
        name = given or default
        if name in taken and isinstance(alerting, dict):
            renamed, suffix = default, 2
            while renamed in taken:
                renamed = default.replace("BudgetBurn", f"{suffix}BudgetBurn")
                suffix += 1
            alerting["name"] = renamed
            found.append(
                entry.findings.doc.source.diagnostic(
                    (*entry.loc, "alerting", "name"),
                    Code.IMPORT_CHANGED,
                    f"alert name {name!r} is also SLO '{taken[name]}''s, and alert names are one "
                    f"SLO's here: renamed {renamed!r} (routes and silences on {name!r} now match "
                    f"'{taken[name]}' only)",
                    level="warning",
                )
            )
            name = renamed
        taken.setdefault(name, str(slo["name"]))
    return found


def run(
    fmt: str,
    inputs: list[tuple[str, bytes]],
    compiles: Compiles,
    service: str | None = None,
    schema: str = "../schemas/slo.schema.json",
) -> Result:
    """Import every document of every input (path, bytes) in format `fmt`; the files'
    modeline names `schema` (the SLO schema, relative to the folder they go to). Each SLO,
    then each service's file, is written only if `compiles` finds nothing in it."""
    tool, convert = FORMATS[fmt]
    result = Result()
    docs: list[Document] = []
    for path, raw in inputs:
        found, problems = load_all(path, raw)
        docs += found
        result.diagnostics += problems
    imported, found_in = convert(docs, service)
    result.diagnostics += found_in
    by_service: dict[str, list[Imported]] = {}
    seen: dict[tuple[str, str], Imported] = {}
    for entry in imported:
        key = (entry.service, entry.slo["name"])
        if key in seen:
            first = seen[key].findings.doc.source
            line, col = first.position(seen[key].loc)
            result.diagnostics.append(
                entry.findings.doc.source.diagnostic(
                    (*entry.loc, "name"),
                    Code.IMPORT_IMPOSSIBLE,
                    f"SLO '{key[1]}' of service '{key[0]}' is also imported from "
                    f"{first.path}:{line}:{col}: rename one",
                )
            )
            continue
        seen[key] = entry
        result.diagnostics += _unreachable_tiers(entry)
        alone = _compiles(entry, entry.service_labels, compiles)
        result.diagnostics += alone
        if not alone:  # an SLO that does not compile is left out of its service's file
            by_service.setdefault(entry.service, []).append(entry)
    for svc, entries in sorted(by_service.items()):
        result.diagnostics += _distinct_alert_names(entries)
        together = _service_compiles(svc, entries, compiles)
        result.diagnostics += together
        if together:
            continue
        sources = sorted({e.findings.doc.source.path for e in entries})
        result.files[f"{svc}.yaml"] = file_text(_file(svc, entries), sources, tool, schema)
        result.slos += len(entries)
    result.diagnostics = sorted(set(result.diagnostics))
    return result
