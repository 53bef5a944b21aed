"""The verify report rendered at the edge: text for a terminal or CI log, JUnit XML for CI
systems' test views (one testcase per SLO and check), Markdown for a CI step summary. The
JSON form is Report.document(), described by schemas/verify-report.schema.json. Label
values and reasons came partly from Prometheus: every line goes through terminal.py's
escaping for its destination."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from ..diagnostics import printable
from .terminal import markdown_cell
from .timespec import iso
from .verify import (
    GRAFANA,
    INCONCLUSIVE,
    NOT_LOADED,
    PASS,
    VIOLATED,
    GroupResult,
    Report,
    SloResult,
    TierResult,
)

ESTIMATES = (
    "event counts are increase() estimates (extrapolated to the window's edges, as "
    "Prometheus' rules count them)"
)
_NOT_COMPARED = {GRAFANA: "n/a (Grafana evaluates the alerts)", NOT_LOADED: "n/a (not loaded)"}


def _when(t: float | None, start: float) -> str:
    return "no" if t is None else f"+{int(t - start)}s"


def _span(report: Report) -> str:
    return " to ".join(iso(t) for t in (report.start, report.end))


def _group_name(group: GroupResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.group.items()) or "all"


def _tier_line(tier: TierResult, slo: SloResult, start: float) -> str:
    deployed = _NOT_COMPARED.get(slo.deployed) or _when(tier.actual_fired_at, start)
    carried = f", carried in {tier.carried_in}" if tier.carried_in else ""
    return (
        f"    {tier.tier} (factor {tier.factor:g}): crossed {'yes' if tier.crossed else 'no'}, "
        f"replay fires {_when(tier.fired_at, start)}{carried}, deployed alert fired {deployed}"
    )


def text(report: Report) -> str:
    lines = [
        f"verify {_span(report)} against {report.prometheus} (gate: {report.gate})",
        f"  {ESTIMATES}",
    ]
    for slo in report.slos:
        lines.append(
            f"{slo.service}/{slo.slo} (objective {slo.objective:g}%): {slo.status.upper()}"
        )
        lines += [f"  {reason}" for reason in slo.reasons]
        for group in slo.groups:
            sli = "n/a" if group.sli is None else f"{group.sli * 100:.4f}%"
            lines.append(
                f"  [{_group_name(group)}] {group.total:,.0f} events, {group.errors:,.0f} bad, "
                f"SLI {sli}: {group.status}"
            )
            lines += [f"    {reason}" for reason in group.reasons]
            lines += [
                _tier_line(tier, slo, report.start)
                for tier in group.tiers
                if tier.crossed or tier.replay_fired or tier.actual_fired_at is not None
            ]
    lines.append(f"result: {report.status.upper()}")
    return "".join(printable(line) + "\n" for line in lines)


def _status(slo: SloResult, group: GroupResult) -> str:
    """A group's verdict: a gap fails the SLO and so every group with data."""
    if slo.status == VIOLATED and group.status != INCONCLUSIVE:
        return VIOLATED
    return group.status


def _cases(slo: SloResult) -> list[tuple[str, str, list[str], GroupResult | None]]:
    """(name, status, messages, group) per check: the SLO's own, or one per group."""
    if not slo.groups:
        return [(f"{slo.service}/{slo.slo}", slo.status, slo.reasons, None)]
    return [
        (
            f"{slo.service}/{slo.slo} [{_group_name(g)}]",
            _status(slo, g),
            slo.reasons + g.reasons,
            g,
        )
        for g in slo.groups
    ]


def junit(report: Report) -> str:
    """One testsuite, a testcase per SLO and group: violated is a failure, inconclusive is
    skipped (CI systems show both), and the reasons are the message. Always well-formed
    XML: text is made printable before ElementTree escapes the markup."""
    cases = [case for slo in report.slos for case in _cases(slo)]
    suite = ET.Element(
        "testsuite",
        name=f"slo-compiler verify ({report.gate} gate)",
        tests=str(len(cases)),
        failures=str(sum(case[1] == VIOLATED for case in cases)),
        skipped=str(sum(case[1] == INCONCLUSIVE for case in cases)),
        timestamp=datetime.fromtimestamp(report.end, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for name, status, reasons, _ in cases:
        case = ET.SubElement(suite, "testcase", classname="slo", name=printable(name))
        safe = [printable(r) for r in reasons]
        if status == VIOLATED:
            ET.SubElement(case, "failure", message="; ".join(safe)).text = "\n".join(safe)
        elif status == INCONCLUSIVE:
            ET.SubElement(case, "skipped", message="; ".join(safe))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


_MARK = {PASS: "✅ pass", VIOLATED: "❌ violated", INCONCLUSIVE: "⚠️ inconclusive"}


def markdown(report: Report) -> str:
    """A table for a CI step summary ($GITHUB_STEP_SUMMARY)."""
    lines = [
        f"### SLO gate: {_MARK[report.status]}",
        "",
        f"{_span(report)}, gate `{report.gate}`; {ESTIMATES}",
        "",
        "| SLO | group | events | SLI | result | why |",
        "|---|---|---:|---:|---|---|",
    ]
    for slo in report.slos:
        for _, status, reasons, group in _cases(slo):
            events = "" if group is None else f"{group.total:,.0f}"
            sli = "" if group is None or group.sli is None else f"{group.sli * 100:.4f}%"
            lines.append(
                f"| {markdown_cell(f'{slo.service}/{slo.slo}')} "
                f"| {'' if group is None else markdown_cell(_group_name(group))} "
                f"| {events} | {sli} | {_MARK[status]} | {markdown_cell('; '.join(reasons))} |"
            )
    return "\n".join(lines) + "\n"
