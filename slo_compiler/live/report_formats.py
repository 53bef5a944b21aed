"""The verify report rendered at the edge: text for a terminal or CI log, JUnit XML for CI
systems' test views (one testcase per SLO and check), Markdown for a CI step summary. The
JSON form is Report.document(), described by schemas/verify-report.schema.json."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from .verify import INCONCLUSIVE, PASS, VIOLATED, GroupResult, Report, SloResult


def _when(t: float | None, start: float) -> str:
    return "no" if t is None else f"+{int(t - start)}s"


def iso(t: float) -> str:
    """A report's timestamps: RFC 3339 in UTC, to the second."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(report: Report) -> str:
    return " to ".join(iso(t) for t in (report.start, report.end))


def _group_name(group: GroupResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.group.items()) or "all"


def text(report: Report) -> str:
    lines = [f"verify {_span(report)} against {report.prometheus} (gate: {report.gate})"]
    for slo in report.slos:
        lines.append(
            f"{slo.service}/{slo.slo} (objective {slo.objective:g}%): {slo.status.upper()}"
        )
        lines += [f"  {reason}" for reason in slo.reasons]
        for group in slo.groups:
            name = _group_name(group)
            sli = "n/a" if group.sli is None else f"{group.sli * 100:.4f}%"
            lines.append(
                f"  [{name}] {group.total:,.0f} events, {group.errors:,.0f} bad, SLI {sli}: "
                f"{group.status}"
            )
            lines += [f"    {reason}" for reason in group.reasons]
            for tier in group.tiers:
                if tier.crossed or tier.fired_at is not None or tier.actual_fired_at is not None:
                    lines.append(
                        f"    {tier.tier} (factor {tier.factor:g}): crossed "
                        f"{'yes' if tier.crossed else 'no'}, replay fires "
                        f"{_when(tier.fired_at, report.start)}, deployed alert fired "
                        f"{_when(tier.actual_fired_at, report.start)}"
                    )
    lines.append(f"result: {report.status.upper()}")
    return "\n".join(lines) + "\n"


def _cases(slo: SloResult) -> list[tuple[str, str, list[str]]]:
    """(name, status, messages) per check: the SLO's own, and one per group."""
    if not slo.groups:
        return [(f"{slo.service}/{slo.slo}", slo.status, slo.reasons)]
    return [
        (f"{slo.service}/{slo.slo} [{_group_name(g)}]", g.status, slo.reasons + g.reasons)
        for g in slo.groups
    ]


def junit(report: Report) -> str:
    """One testsuite, a testcase per SLO and group: violated is a failure, inconclusive is
    skipped (CI systems show both), and the reasons are the message."""
    cases = [case for slo in report.slos for case in _cases(slo)]
    suite = ET.Element(
        "testsuite",
        name=f"slo-compiler verify ({report.gate} gate)",
        tests=str(len(cases)),
        failures=str(sum(status == VIOLATED for _, status, _ in cases)),
        skipped=str(sum(status == INCONCLUSIVE for _, status, _ in cases)),
        timestamp=datetime.fromtimestamp(report.end, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
    )
    for name, status, reasons in cases:
        case = ET.SubElement(suite, "testcase", classname="slo", name=name)
        if status == VIOLATED:
            ET.SubElement(case, "failure", message="; ".join(reasons)).text = "\n".join(reasons)
        elif status == INCONCLUSIVE:
            ET.SubElement(case, "skipped", message="; ".join(reasons))
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


_MARK = {PASS: "✅ pass", VIOLATED: "❌ violated", INCONCLUSIVE: "⚠️ inconclusive"}


def _cell(text: str) -> str:
    """Text in a Markdown table cell: pipes and line breaks would end the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """A table for a CI step summary ($GITHUB_STEP_SUMMARY)."""
    lines = [
        f"### SLO gate: {_MARK[report.status]}",
        "",
        f"{_span(report)}, gate `{report.gate}`",
        "",
        "| SLO | group | events | SLI | result | why |",
        "|---|---|---:|---:|---|---|",
    ]
    for slo in report.slos:
        groups = slo.groups or [None]
        for group in groups:
            events = "" if group is None else f"{group.total:,.0f}"
            sli = "" if group is None or group.sli is None else f"{group.sli * 100:.4f}%"
            status = slo.status if group is None else group.status
            reasons = slo.reasons + ([] if group is None else group.reasons)
            lines.append(
                f"| {slo.service}/{slo.slo} | {'' if group is None else _group_name(group)} "
                f"| {events} | {sli} | {_MARK[status]} | {_cell('; '.join(reasons))} |"
            )
    return "\n".join(lines) + "\n"
