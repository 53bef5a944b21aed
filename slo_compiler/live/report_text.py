"""The verify report as text for a terminal or a CI log: one block per SLO, a line per
group with its events, SLI and verdict, and a line per tier that crossed or fired."""

from __future__ import annotations

from datetime import UTC, datetime

from .verify import Report


def _when(t: float | None, start: float) -> str:
    return "no" if t is None else f"+{int(t - start)}s"


def text(report: Report) -> str:
    span = " to ".join(
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for t in (report.start, report.end)
    )
    lines = [f"verify {span} against {report.prometheus} (gate: {report.gate})"]
    for slo in report.slos:
        lines.append(
            f"{slo.service}/{slo.slo} (objective {slo.objective:g}%): {slo.status.upper()}"
        )
        lines += [f"  {reason}" for reason in slo.reasons]
        for group in slo.groups:
            name = ", ".join(f"{k}={v}" for k, v in group.group.items()) or "all"
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
