"""The report's two charts per SLO and group, drawn by matplotlib as SVG: the budget
remaining through the period (burn-down) and the SLI per step against the objective, the
alert episodes shaded (pages red, tickets amber). SVG text is drawn as paths and the
file carries no date or random id, so a chart is self-contained and the same bytes for
the same data. matplotlib is imported here only: the other commands never load it."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from .report import GroupReport, SloReport

WIDTH, HEIGHT = 8.0, 3.0  # inches
PAGE, TICKET = "#d62728", "#ff9f1c"


def _figure():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "slo-compiler", "svg.fonttype": "path"})
    figure, axes = plt.subplots(figsize=(WIDTH, HEIGHT), dpi=100)
    return plt, figure, axes


def _svg(plt, figure) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    figure.tight_layout()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": "slo-compiler"})
    plt.close(figure)
    text = out.getvalue()
    return text[text.index("<svg") :]  # the element alone, to inline or to write


def _times(values: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in values]


def burn_down(slo: SloReport, group: GroupReport, title: str) -> str:
    """The share of the period's error budget left after each step."""
    plt, figure, axes = _figure()
    points = group.burn_down(slo.budget)
    axes.plot(_times([t for t, _ in points]), [v * 100 for _, v in points], color="#1f77b4")
    axes.axhline(0, color="#444444", linewidth=0.8)
    axes.set_ylabel("budget left (%)")
    axes.set_title(title, fontsize=10)
    figure.autofmt_xdate()
    return _svg(plt, figure)


def sli(slo: SloReport, group: GroupReport, title: str, step: int) -> str:
    """The SLI per step (steps without events left out), the objective, the episodes."""
    plt, figure, axes = _figure()
    shown = [s for s in group.steps if s.total > 0]
    axes.plot(
        _times([s.end for s in shown]),
        [(1 - s.bad / s.total) * 100 for s in shown],
        color="#2ca02c",
        marker=".",
        markersize=3,
        linewidth=1,
    )
    axes.axhline(slo.objective, color="#444444", linestyle="--", linewidth=0.8, label="objective")
    for tier in group.tiers:
        for episode in tier.episodes:
            if episode.fired is None:
                continue
            end = episode.end if episode.end is not None else group.steps[-1].end
            axes.axvspan(
                *_times([episode.fired, end]),
                color=PAGE if tier.slo_tier == "page" else TICKET,
                alpha=0.25,
            )
    axes.set_ylabel(f"SLI per {step // 60}m (%)")
    axes.set_title(title, fontsize=10)
    axes.legend(loc="lower left", fontsize=8)
    figure.autofmt_xdate()
    return _svg(plt, figure)
