"""`slo-compiler report`: did we meet our SLOs over a calendar period (or any range)?

Per SLO, and per group of a grouped SLO, over [start, end):

* attainment: the share of good events over the period, from the raw counters, event
  weighted: each step's increase() (an hour, or five minutes for a range under two days)
  summed, so a quiet night weighs what its few requests weigh;
* met or missed against the objective, and the budget consumed: the bad events over the
  ones the objective allows (the objective's share of the period's events);
* the alert episodes that would have paged or ticketed (backtest.py's replay of each
  tier), the worst steps, and the data's coverage (gaps named, never taken as quiet);
* the series the charts draw: per step, the events, the bad ones, the SLI and the budget
  remaining (burn-down).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..rules.ir import SloPlan
from ..rules.plan import ExprBuilder
from .backtest import NO_DATA, UNSUPPORTED, TierHistory, backtest_slo
from .client import Client, Labels
from .coverage import Gap, sampled
from .queries import Key, Window, counters, group_key

MET, MISSED = "met", "missed"
HOUR, FIVE_MINUTES = 3600, 300
WORST = 5  # the worst steps listed
# Groups shown per SLO (each costs its steps in the JSON, a chart and a table row): past
# this, the ones with the lowest attainment, and a line on the rest.
MAX_GROUPS = 50


@dataclass(frozen=True)
class Step:
    end: float  # the step covers (end - width, end]
    total: float
    bad: float


@dataclass
class GroupReport:
    group: Labels
    steps: list[Step]
    tiers: list[TierHistory] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(s.total for s in self.steps)

    @property
    def bad(self) -> float:
        return sum(s.bad for s in self.steps)

    @property
    def attainment(self) -> float | None:
        return None if self.total <= 0 else 1 - self.bad / self.total

    def met(self, objective: float) -> bool | None:
        """The attainment at or above the objective (a percent); None without events."""
        return None if self.attainment is None else self.attainment * 100 >= objective

    def budget_consumed(self, budget: float) -> float | None:
        """Bad events over those the objective allows in the period's traffic."""
        return None if self.total <= 0 else self.bad / (budget * self.total)

    def burn_down(self, budget: float) -> list[tuple[float, float]]:
        """(time, share of the period's budget left) after each step."""
        allowed = budget * self.total
        left, spent = [], 0.0
        for step in self.steps:
            spent += step.bad
            left.append((step.end, 1 - spent / allowed if allowed > 0 else 1.0))
        return left

    def worst(self) -> list[Step]:
        """The steps with the most bad events (ties: the earliest)."""
        bad = [s for s in self.steps if s.bad > 0]
        return sorted(bad, key=lambda s: (-s.bad, s.end))[:WORST]


@dataclass
class SloReport:
    service: str
    slo: str
    objective: float
    budget: float
    status: str = MET
    groups: list[GroupReport] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    covered: float = 1.0
    reasons: list[str] = field(default_factory=list)


@dataclass
class Report:
    prometheus: str
    start: float
    end: float
    period: str  # how the command named it: 2026-11, 2026-Q4, 2026-W48; "" for a range
    timezone: str
    step: int
    slos: list[SloReport]

    def document(self) -> dict[str, Any]:
        """The JSON form (schemas/report.schema.json)."""

        def group(s: SloReport, g: GroupReport) -> dict[str, Any]:
            return {
                "group": g.group,
                "total_events": g.total,
                "bad_events": g.bad,
                "attainment": g.attainment,
                "met": g.met(s.objective),
                "budget_consumed": g.budget_consumed(s.budget),
                "episodes": [
                    {
                        "tier": t.tier,
                        "slo_tier": t.slo_tier,
                        "fired": e.fired,
                        "ended": e.end,
                    }
                    for t in g.tiers
                    for e in t.episodes
                ],
                "worst_steps": [
                    {"from": w.end - self.step, "to": w.end, "total": w.total, "bad": w.bad}
                    for w in g.worst()
                ],
                "steps": [[p.end, p.total, p.bad] for p in g.steps],
            }

        return {
            "prometheus": self.prometheus,
            "period": self.period,
            "timezone": self.timezone,
            "start": self.start,
            "end": self.end,
            "step_seconds": self.step,
            "slos": [
                {
                    "service": s.service,
                    "slo": s.slo,
                    "objective_percent": s.objective,
                    "status": s.status,
                    "covered": s.covered,
                    "gaps": [g.document() for g in s.gaps],
                    "reasons": s.reasons,
                    "groups": [group(s, g) for g in s.groups],
                }
                for s in self.slos
            ],
        }


def step_for(start: float, end: float) -> int:
    """An hour per step, five minutes for a range under two days."""
    return HOUR if end - start >= 2 * 86400 else FIVE_MINUTES


def _steps(
    client: Client, plan: SloPlan, start: float, end: float, step: int
) -> dict[Key, list[Step]]:
    """Per group, the events and bad events of each step of [start, end)."""
    sli = counters(plan)
    build = ExprBuilder(sli, plan.group_by, plan.selector_labels)
    total = build.sum_rate(sli.total, step, "increase")
    bad = build.errors_over(sli, step, "increase")
    times = [start + step * (i + 1) for i in range(int((end - start) // step))]
    values: dict[Key, dict[int, list[float]]] = {}  # by step index
    for which, expr in enumerate((total, bad)):
        for labels, samples in sampled(client, expr, times, step):
            series = values.setdefault(group_key(labels, plan.group_by), {})
            for index, value in samples.items():
                series.setdefault(index, [0.0, 0.0])[which] = value
    return {
        key: [Step(t, *series.get(i, [0.0, 0.0])) for i, t in enumerate(times)]
        for key, series in values.items()
    }


def report_slo(client: Client, plan: SloPlan, start: float, end: float, interval: int) -> SloReport:
    result = SloReport(plan.service, plan.name, float(plan.objective), float(plan.budget))
    history = backtest_slo(client, plan, Window(start, end, interval))
    result.gaps, result.reasons = history.gaps, list(history.reasons)
    if history.status in (NO_DATA, UNSUPPORTED):
        result.status = history.status
        return result
    result.covered = max(
        0.0, 1 - sum(g.seconds for g in history.gaps if g.target is None) / (end - start)
    )
    step = step_for(start, end)
    tiers = {tuple(g.group.get(n, "") for n in plan.group_by): g.tiers for g in history.groups}
    for key, steps in sorted(_steps(client, plan, start, end, step).items()):
        result.groups.append(
            GroupReport(dict(zip(plan.group_by, key, strict=True)), steps, tiers.get(key, []))
        )
    verdicts = [g.met(result.objective) for g in result.groups]
    if all(v is None for v in verdicts):
        result.status = NO_DATA
        result.reasons.append("no events in the period")
    elif False in verdicts:
        result.status = MISSED
    result.groups, left_out = shown(result.groups, result.objective)
    result.reasons += [left_out] if left_out else []
    return result


def shown(groups: list[GroupReport], objective: float) -> tuple[list[GroupReport], str | None]:
    """At most MAX_GROUPS groups, the lowest attainment first chosen (in their own order),
    and what is said of the others; the verdict was taken over all of them."""
    if len(groups) <= MAX_GROUPS:
        return groups, None
    ranked = sorted(
        groups, key=lambda g: (g.attainment is None, g.attainment if g.attainment else 0.0)
    )
    kept = {id(g) for g in ranked[:MAX_GROUPS]}
    rest = ranked[MAX_GROUPS:]
    missed = sum(1 for g in rest if g.met(objective) is False)
    about = f"{missed} of them missed it too" if missed else "all of them met the objective"
    said = (
        f"{len(groups)} groups: the {MAX_GROUPS} with the lowest attainment are shown; of the "
        f"other {len(rest)}, {about}"
    )
    return [g for g in groups if id(g) in kept], said


def report(
    client: Client,
    plans: list[SloPlan],
    start: float,
    end: float,
    interval: int,
    period: str,
    timezone: str,
) -> Report:
    return Report(
        client.display,
        start,
        end,
        period,
        timezone,
        step_for(start, end),
        [report_slo(client, p, start, end, interval) for p in plans],
    )
