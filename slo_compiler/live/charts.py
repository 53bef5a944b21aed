"""The report's two charts per SLO and group, drawn by matplotlib as SVG: the budget
remaining through the period (burn-down), and the SLI per step against the objective
with the alert episodes shaded (pages red, tickets amber, in a legend) over a panel of
the traffic. Steps without data are gaps in the lines, not straight lines across them;
the SLI's axis starts a few budgets below the objective, so that 99.95% and a 99.9%
objective stay apart (a step below it is marked at the bottom edge); the time axis is in
the report's time zone, named; a period still running is marked "now" and not drawn past
it. SVG text is drawn as paths, and each chart's ids carry its own name, so charts
inlined in one page never share an id; the same data gives the same bytes.
matplotlib is imported here only: the other commands never load it."""

from __future__ import annotations

import io
import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from .report import GroupReport, SloReport

WIDTH, HEIGHT = 8.0, 3.0  # inches
PAGE, TICKET, LINE, SLI_COLOUR = "#d62728", "#ff9f1c", "#444444", "#2ca02c"
BUDGETS_SHOWN = 3  # the SLI axis reaches this many error budgets below the objective


def _figure(rows: int = 1):  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "slo-compiler", "svg.fonttype": "path"})
    ratios = {"height_ratios": [3, 1]} if rows == 2 else None
    figure, axes = plt.subplots(
        rows, 1, figsize=(WIDTH, HEIGHT * (1.35 if rows == 2 else 1)), dpi=100,
        sharex=True, gridspec_kw=ratios,
    )  # fmt: skip
    return plt, figure, axes


# An id, or a reference to one: what must be unique in a page holding several charts.
_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def _svg(plt, figure, name: str) -> str:  # type: ignore[no-untyped-def]
    """The chart's SVG element alone (to inline or to write), every id and reference to
    one prefixed with the chart's name: matplotlib names its parts figure_1, axes_1 and
    its glyphs by font in every chart alike, and a page of two would share them."""
    out = io.StringIO()
    figure.tight_layout()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": "slo-compiler"})
    plt.close(figure)
    text = out.getvalue()
    element = text[text.index("<svg") :]
    return _IDS.sub(lambda m: f"{m[1]}{name}-{m[2]}", element)


def _times(values: list[float], zone: str) -> list[datetime]:
    tz = ZoneInfo(zone)
    return [datetime.fromtimestamp(t, tz) for t in values]


def _time_axis(axes, zone: str, now: float | None) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.dates as mdates

    axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M", tz=ZoneInfo(zone)))
    axes.set_xlabel(f"time ({zone})", fontsize=8)
    if now is not None:
        axes.axvline(_times([now], zone)[0], color=LINE, linestyle=":", linewidth=1)
        axes.annotate("now", (_times([now], zone)[0], 1), xycoords=("data", "axes fraction"),
                      fontsize=7, ha="right", va="top")  # fmt: skip


def burn_down(slo: SloReport, group: GroupReport, name: str, zone: str, now: float | None) -> str:
    """The share of the period's error budget left after each step."""
    plt, figure, axes = _figure()
    points = group.burn_down(slo.budget_at)
    steps = zip(points, group.steps, strict=True)
    left = [v * 100 if s.total > 0 else math.nan for (_, v), s in steps]
    axes.plot(_times([t for t, _ in points], zone), left, color="#1f77b4")
    axes.axhline(0, color=LINE, linewidth=0.8)
    axes.annotate("budget spent", (0, 0), xycoords=("axes fraction", "data"), fontsize=7,
                  va="bottom")  # fmt: skip
    axes.set_ylabel("budget left (%)")
    axes.set_title(f"error budget left (objective {slo.objective:g}%)", fontsize=10)
    _time_axis(axes, zone, now)
    figure.autofmt_xdate()
    return _svg(plt, figure, name)


def sli(
    slo: SloReport, group: GroupReport, name: str, zone: str, now: float | None, step: int
) -> str:
    """The SLI per step against the objective, the episodes shaded, the traffic below."""
    from matplotlib.patches import Patch

    plt, figure, (axes, traffic) = _figure(rows=2)
    times = _times([s.end for s in group.steps], zone)
    values = [(1 - s.bad / s.total) * 100 if s.total > 0 else math.nan for s in group.steps]
    lowest = min([slo.objective, *(o for _, o in slo.history)])
    bottom = max(0.0, lowest - BUDGETS_SHOWN * (100 - lowest))
    axes.plot(times, [max(v, bottom) for v in values], color=SLI_COLOUR, linewidth=1)
    below = [(t, v) for t, v in zip(times, values, strict=True) if v < bottom]
    if below:
        axes.plot([t for t, _ in below], [bottom] * len(below), "v", color=PAGE, markersize=4)
    # The objective in force at each step: a change of objective is a step in the line.
    axes.plot(times, [slo.objective_at(s.inside) for s in group.steps], color=LINE,
              linestyle="--", linewidth=0.8, drawstyle="steps-pre")  # fmt: skip
    axes.annotate(f"objective {slo.objective:g}%", (1, slo.objective), ha="right", va="bottom",
                  xycoords=("axes fraction", "data"), fontsize=7)  # fmt: skip
    end = group.steps[-1].end if group.steps else 0.0
    for tier in group.tiers:
        for episode in tier.episodes:
            if episode.fired is not None:
                axes.axvspan(
                    *_times([episode.fired, episode.end or end], zone),
                    color=PAGE if tier.slo_tier == "page" else TICKET,
                    alpha=0.25,
                )
    axes.set_ylim(bottom, 100 + (100 - bottom) * 0.05)
    axes.set_ylabel(f"SLI per {step // 60}m (%)")
    axes.set_title("SLI and alert episodes", fontsize=10)
    axes.legend(
        handles=[
            Patch(color=PAGE, alpha=0.25, label="page firing"),
            Patch(color=TICKET, alpha=0.25, label="ticket firing"),
        ],
        loc="lower left",
        fontsize=7,
    )
    traffic.plot(times, [s.total if s.total > 0 else math.nan for s in group.steps],
                 color=LINE, linewidth=0.8)  # fmt: skip
    traffic.set_ylabel("events", fontsize=8)
    _time_axis(traffic, zone, now)
    figure.autofmt_xdate()
    return _svg(plt, figure, name)
