"""`slo-compiler backtest`: how often would these alerts have fired over real history?

We wrote the rules, so we know each tier's windows, threshold and `for`: every tier of
every selected SLO is replayed over the range in its raw-counter form (the condition
`verify` replays, range queries in chunks under the server's point limit, at the rule
evaluation interval), with `for` applied as Prometheus applies it (replay.py). Over a
range of two days or more each tier is replayed every half its `for` instead (the
resolution the generated promtool tests use): a tier's evaluations each read its long
window, so a 3d window every 15s over a month read every sample thousands of times, and
a month took minutes; episode times are then said to within that step. Per SLO,
group and tier: the pages (firing episodes), the total firing time, the longest episode;
per group the burn over the range and the share of a period's budget it spent.

Where the SLI was not seen (before the metric existed, older than retention, a target
down: coverage.py, the code verify's gate uses) the range is reported as a gap: a gap is
not "quiet".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..base.durations import format_duration
from ..rules.burnrate import Tier
from ..rules.ir import SloPlan
from . import environment
from .client import Client, Labels
from .coverage import Gap
from .queries import Window, events, replay, uncounted
from .replay import Episode

NO_DATA, OK, UNSUPPORTED = "no-data", "ok", "unsupported"


@dataclass
class TierHistory:
    tier: str
    slo_tier: str  # page or ticket
    factor: float
    for_seconds: int
    episodes: list[Episode]  # the episodes that fired

    def firing(self, end: float) -> list[float]:
        """How long each page lasted (until the range's end if it still fired)."""
        return [(e.end if e.end is not None else end) - e.fired for e in self.episodes if e.fired]

    def document(self, end: float) -> dict[str, Any]:
        firing = self.firing(end)
        return {
            "tier": self.tier,
            "slo_tier": self.slo_tier,
            "factor": self.factor,
            "for_seconds": self.for_seconds,
            "pages": len(firing),
            "firing_seconds": sum(firing),
            "longest_seconds": max(firing, default=0),
            "episodes": [
                {"pending": e.start, "fired": e.fired, "ended": e.end} for e in self.episodes
            ],
        }


@dataclass
class GroupHistory:
    group: Labels
    total: float
    errors: float
    burn: float | None  # error ratio over the range / the budget
    budget_spent: float | None  # share of a period's budget spent (at the range's rate)
    tiers: list[TierHistory] = field(default_factory=list)


@dataclass
class SloHistory:
    service: str
    slo: str
    objective: float
    period: int
    status: str = OK
    groups: list[GroupHistory] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.slo)

    def pages(self) -> int:
        """Firing episodes of page tiers, over all groups."""
        return sum(
            len([e for e in t.episodes if e.fired])
            for g in self.groups
            for t in g.tiers
            if t.slo_tier == "page"
        )


@dataclass
class Backtest:
    prometheus: str
    start: float
    end: float
    interval: int
    slos: list[SloHistory]
    compared: list[SloHistory] | None = None  # the same range for the --compare version

    def pages(self) -> int:
        return sum(s.pages() for s in self.slos)

    def document(self) -> dict[str, Any]:
        def slo(s: SloHistory) -> dict[str, Any]:
            return {
                "service": s.service,
                "slo": s.slo,
                "objective_percent": s.objective,
                "period_seconds": s.period,
                "status": s.status,
                "reasons": s.reasons,
                "gaps": [g.document() for g in s.gaps],
                "pages": s.pages(),
                "groups": [
                    {
                        "group": g.group,
                        "total_events": g.total,
                        "bad_events": g.errors,
                        "burn": g.burn,
                        "budget_spent": g.budget_spent,
                        "tiers": [t.document(self.end) for t in g.tiers],
                    }
                    for g in s.groups
                ],
            }

        doc: dict[str, Any] = {
            "prometheus": self.prometheus,
            "start": self.start,
            "end": self.end,
            "interval_seconds": self.interval,
            "pages": self.pages(),
            "slos": [slo(s) for s in self.slos],
        }
        if self.compared is not None:
            doc["compared"] = [slo(s) for s in self.compared]
        return doc


LONG_RANGE = 2 * 86400  # from here on, each tier is replayed at its own step
COARSE_LOOK = 300  # the coverage step over a long range


def tier_step(window: Window, tier: Tier) -> int:
    """The interval a tier is replayed at: the rules' own, or over a long range half the
    tier's `for` (a whole number of rule intervals)."""
    if window.seconds < LONG_RANGE:
        return window.interval
    return max(window.interval, tier.for_ // 2 // window.interval * window.interval)


def backtest_slo(
    client: Client, plan: SloPlan, window: Window, recorded: bool = False
) -> SloHistory:
    """The SLO's history over the window; `recorded`: replay the deployed alerts'
    conditions over the series the compiled rules recorded (cheap: each evaluation reads
    two samples), where the caller knows they cover the window."""
    result = SloHistory(plan.service, plan.name, float(plan.objective), plan.period)
    if plan.counters is None:
        result.status = UNSUPPORTED
        result.reasons.append(uncounted(plan))
        return result
    # Over a long range the data's coverage is looked at every 5 minutes, not at every
    # rule evaluation: gaps to the 5 minutes, at a tenth of the reads or less.
    look = window.interval if window.seconds < LONG_RANGE else max(window.interval, COARSE_LOOK)
    looked = environment.seen(client, plan, window, look, "range")
    result.reasons += looked.notes + looked.coverage.reset_notes()
    result.gaps = looked.coverage.gaps
    if looked.unreadable:
        # A metric the SLI reads with no series at all (a misspelt errors metric) would
        # read as no bad events: no data, not a clean history.
        result.status, result.reasons = NO_DATA, looked.unreadable
        return result
    names = plan.group_by
    totals, errors = events(client, plan, window)
    steps = {t.name: tier_step(window, t) for t in plan.tiers}
    deployed = {r.tier.name: r.expr for r in plan.alerts if r.tier is not None} if recorded else {}
    replays = {
        t.name: replay(
            client, plan, t, replace(window, interval=steps[t.name]), expr=deployed.get(t.name)
        )
        for t in plan.tiers
    }
    coarse = sorted({f"{name} every {format_duration(s)}" for name, s in steps.items()
                     if s > window.interval})  # fmt: skip
    if coarse:
        result.reasons.append(
            f"alerts replayed per tier at half its `for` ({', '.join(coarse)}): episode "
            "times to within that step"
        )
    budget = float(plan.budget)
    # A period's budget is spent at the rate of the time that had data.
    covered = window.seconds - sum(g.seconds for g in result.gaps if g.target is None)
    for key in sorted(totals):
        total, bad = totals[key], errors.get(key, 0.0)
        burn = None if total <= 0 else bad / total / budget
        group = GroupHistory(
            dict(zip(names, key, strict=True)),
            total,
            bad,
            burn,
            None if burn is None else burn * covered / plan.period,
        )
        for tier in plan.tiers:
            fired = [e for e in replays[tier.name].get(key, []) if e.fired is not None]
            group.tiers.append(
                TierHistory(tier.name, tier.severity, float(tier.factor), tier.for_, fired)
            )
        result.groups.append(group)
    return result


def backtest(
    client: Client,
    plans: list[SloPlan],
    window: Window,
    compare: list[SloPlan] | None = None,
) -> Backtest:
    """Every SLO of `plans` over the window; with `compare` (another version of the same
    SLOs), the ones of it that match by service and name, over the same window."""
    slos = [backtest_slo(client, p, window) for p in plans]
    compared = None
    if compare is not None:
        wanted = {s.key for s in slos}
        compared = [
            backtest_slo(client, p, window) for p in compare if (p.service, p.name) in wanted
        ]
    return Backtest(client.display, window.start, window.end, window.interval, slos, compared)
