"""The backtest rendered at the edge: text for a terminal, Markdown for a pull request (the
"this change would have paged 3 times last month instead of 11" comment). JSON is
Backtest.document()."""

from __future__ import annotations

from ..base.durations import format_duration
from .backtest import Backtest, GroupHistory, SloHistory, TierHistory
from .coverage import Gap
from .timespec import iso


def _span(seconds: float) -> str:
    return format_duration(int(seconds)) if seconds >= 1 else "0s"


def _gap(gap: Gap) -> str:
    who = "" if gap.target is None else f" ({gap.describe()})"
    return f"{iso(gap.start)} to {iso(gap.end)} ({_span(gap.seconds)} without data){who}"


def _group(group: GroupHistory) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.group.items()) or "all"


def _cells(tier: TierHistory | None, end: float) -> list[str]:
    if tier is None:
        return ["-", "-", "-"]
    firing = tier.firing(end)
    return [str(len(firing)), _span(sum(firing)), _span(max(firing, default=0))]


def _old_tier(old: SloHistory | None, group: GroupHistory, name: str) -> TierHistory | None:
    if old is None:
        return None
    for g in old.groups:
        if g.group == group.group:
            return next((t for t in g.tiers if t.tier == name), None)
    return None


def _rows(report: Backtest, slo: SloHistory) -> list[tuple[str, GroupHistory, list[str]]]:
    """(group, the group, cells) per tier, the old version's cells beside ours."""
    old = {s.key: s for s in report.compared or []}.get(slo.key)
    rows = []
    for group in slo.groups:
        for tier in group.tiers:
            cells = [tier.tier, *_cells(tier, report.end)]
            if report.compared is not None:
                cells += _cells(_old_tier(old, group, tier.tier), report.end)
            rows.append((_group(group), group, cells))
    return rows


def _heading(report: Backtest) -> str:
    return (
        f"backtest {iso(report.start)} to {iso(report.end)} "
        f"({_span(report.end - report.start)}) against {report.prometheus}, rules every "
        f"{_span(report.interval)}"
    )


def _summary(slo: SloHistory, group: GroupHistory) -> str:
    if group.burn is None:
        return f"[{_group(group)}] no events"
    return (
        f"[{_group(group)}] {group.total:,.0f} events, {group.errors:,.0f} bad: burn "
        f"{group.burn:.2f}x, {group.budget_spent * 100:.1f}% of a {_span(slo.period)} budget spent"
    )


def text(report: Backtest) -> str:
    lines = [_heading(report)]
    header = ["tier", "pages", "firing", "longest"]
    if report.compared is not None:
        header += ["pages (old)", "firing (old)", "longest (old)"]
    for slo in report.slos:
        what = f"objective {slo.objective:g}% over {_span(slo.period)}"
        lines.append(f"{slo.service}/{slo.slo} ({what}): {slo.status}")
        lines += [f"  {reason}" for reason in slo.reasons]
        lines += [f"  gap: {_gap(g)}" for g in slo.gaps]
        rows = _rows(report, slo)
        widths = [
            max(len(c) for c in col)
            for col in zip(header, *(cells for _, _, cells in rows), strict=False)
        ]
        for group in slo.groups:
            lines.append("  " + _summary(slo, group))
            lines.append(
                "    " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()
            )
            for _, g, cells in rows:
                if g is group:
                    lines.append(
                        "    "
                        + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
                    )
    lines.append(f"pages in all: {report.pages()}")
    return "\n".join(lines) + "\n"


def markdown(report: Backtest) -> str:
    lines = [f"### {_heading(report)}", ""]
    header = ["SLO", "group", "tier", "pages", "firing", "longest"]
    if report.compared is not None:
        header += ["pages before", "firing before", "longest before"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for slo in report.slos:
        for name, _, cells in _rows(report, slo):
            lines.append(f"| {slo.service}/{slo.slo} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for slo in report.slos:
        notes = slo.reasons + [f"gap: {_gap(g)}" for g in slo.gaps]
        notes += [_summary(slo, g) for g in slo.groups]
        lines += [f"- {slo.service}/{slo.slo}: {note}" for note in notes]
    lines.append(f"\n**Pages in all: {report.pages()}**")
    return "\n".join(lines) + "\n"
