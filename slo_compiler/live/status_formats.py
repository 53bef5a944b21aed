"""The status report rendered at the edge: a terminal table (text) and Markdown (a CI step
summary or a chat message). JSON is StatusReport.document(). Label values came from
Prometheus: every line goes through terminal.py's escaping for its destination."""

from __future__ import annotations

from ..base.durations import format_duration
from ..diagnostics import printable
from .status import GroupStatus, SloStatus, StatusReport, TierBurn
from .terminal import markdown_cell
from .timespec import iso


def _percent(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def _burn(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _span(seconds: float) -> str:
    return format_duration(int(seconds)) if seconds >= 1 else "0s"


def _group(group: GroupStatus) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.group.items()) or "all"


def _about(slo: SloStatus) -> str:
    source = "recorded series" if slo.source == "recorded" else "raw counters"
    return (
        f"objective {slo.objective:g}% over {_span(slo.period)}, from the {source}, "
        f"{slo.covered * 100:.1f}% of the period with data"
    )


def _left(slo: SloStatus, group: GroupStatus) -> str:
    left = f"budget left {_percent(group.budget_left, 1)}"
    when = group.exhausted_in(slo.period)
    if group.budget_left is not None and group.budget_left <= 0:
        return f"{left} (spent)"
    if when is not None:
        return f"{left}, spent in {_span(when)} at the current burn ({_burn(group.burn_now())})"
    return f"{left}, not burning"


def _cells(tier: TierBurn) -> list[str]:
    return [
        tier.tier,
        _burn(tier.long_burn),
        _burn(tier.short_burn),
        f"{tier.factor:g}x",
        "yes" if tier.burning else "no",
        tier.alert or "-",
    ]


HEADER = ["tier", "long window", "short window", "factor", "burning", "alert"]


def _notes(slo: SloStatus) -> list[str]:
    """Why the figures are what they are: the reasons, and every gap in the period."""
    return [
        *slo.reasons,
        *(
            f"gap: {iso(g.start)} to {iso(g.end)} ({_span(g.seconds)})"
            + ("" if g.target is None else f": {g.describe()}")
            for g in slo.gaps
        ),
    ]


def text(report: StatusReport) -> str:
    lines = [f"status at {iso(report.at)} against {report.prometheus}"]
    for slo in report.slos:
        lines.append(f"{slo.service}/{slo.slo} ({_about(slo)}): {slo.status.upper()}")
        lines += [f"  {note}" for note in _notes(slo)]
        for group in slo.groups:
            lines.append(
                f"  [{_group(group)}] SLI {_percent(group.sli)}, {_left(slo, group)}: "
                f"{group.status}"
            )
            rows = [HEADER, *(_cells(t) for t in group.tiers)]
            widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
            lines += [
                "    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
    return "".join(printable(line) + "\n" for line in lines)


_MARK = {
    "ok": "✅ ok",
    "burning": "🔥 burning",
    "exhausted": "❌ budget spent",
    "no-data": "⚠️ no data",
    "unsupported": "⚠️ unsupported",
    "targets-down": "⚠️ targets down",
}


def markdown(report: StatusReport) -> str:
    """One table row per SLO and group."""
    lines = [
        f"### SLO status at {iso(report.at)}",
        "",
        "| SLO | group | SLI | objective | budget left | spent in | burn now | status |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for slo in report.slos:
        for group in slo.groups or [None]:
            name = markdown_cell(f"{slo.service}/{slo.slo}")
            if group is None:
                why = markdown_cell("; ".join(slo.reasons))
                lines.append(
                    f"| {name} | | | {slo.objective:g}% | | | | {_MARK[slo.status]} {why} |"
                )
                continue
            when = group.exhausted_in(slo.period)
            lines.append(
                f"| {name} | {markdown_cell(_group(group))} | {_percent(group.sli)} "
                f"| {slo.objective:g}% | {_percent(group.budget_left, 1)} "
                f"| {'' if when is None else _span(when)} | {_burn(group.burn_now())} "
                f"| {_MARK[group.status]} |"
            )
    # Where each SLO's figures come from, its reasons and gaps: the table alone hid them.
    for slo in report.slos:
        notes = [_about(slo), *_notes(slo)]
        lines += ["", f"**{markdown_cell(f'{slo.service}/{slo.slo}')}**", ""]
        lines += [f"- {markdown_cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"
