"""`slo-compiler report`: did we meet our SLOs over a calendar period (or any range)?

Per SLO, and per group of a grouped SLO, over [start, end):

* attainment: the share of good events over the period, from the raw counters, event
  weighted: each step's increase() (an hour, or five minutes for a range under two days)
  summed, so a quiet night weighs what its few requests weigh;
* met or missed against the objective, and the budget consumed: the bad events over the
  ones the objective allows (the objective's share of the period's events);
* the budget consumed twice: of the range's own allowance, and of the SLO's window (a
  day that used a sixth of a 30-day budget is 17% of it, though 500% of its own day's);
* incidents: the stretches of steps burning budget faster than the period allows,
  grouped (a step apart or less), each with its bad events, its share of the period's
  budget and the alerts that fired in it;
* the alert episodes that would have paged or ticketed (backtest.py's replay of each
  tier) and the data's coverage (gaps named, never taken as quiet);
* the previous period of the same length, for the trend;
* the series the charts draw: per step, the events, the bad ones, the SLI and the budget
  remaining (burn-down).

A period still running is read up to now, judged IN-PROGRESS (its future is no gap and
no verdict); one with data for less than half of what has elapsed, NOT-ENOUGH-DATA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..base.durations import format_duration
from ..rules.burnrate import DEFAULT_SLICES, SLICE
from ..rules.ir import SloPlan, in_force
from ..rules.plan import ExprBuilder
from ..rules.promql import series
from .backtest import NO_DATA, UNSUPPORTED, TierHistory, backtest_slo
from .client import Client, Labels
from .coverage import Gap, sampled
from .queries import Key, Window, counters, events, group_key

MET, MISSED = "met", "missed"
RECORDED, RAW = "recorded", "raw"
IN_PROGRESS, NOT_ENOUGH = "in-progress", "not-enough-data"
ENOUGH = 0.5  # the share of the elapsed range with data below which nothing is judged
HOUR, FIVE_MINUTES = 3600, 300
# Groups shown per SLO (each costs its steps in the JSON, a chart and a table row): past
# this, the ones with the lowest attainment, and a line on the rest.
MAX_GROUPS = 50


Budget = Callable[[float], float]  # the allowed error ratio at a time


@dataclass(frozen=True)
class Step:
    end: float  # the step covers (end - width, end]
    total: float
    bad: float

    @property
    def inside(self) -> float:
        """A moment within the step (its end belongs to it, a change of objective at the
        end to the next): the objective it is judged by is the one in force then."""
        return self.end - 1e-3


@dataclass(frozen=True)
class Incident:
    """Steps burning the budget faster than the period allows, grouped."""

    start: float
    end: float
    bad: float
    budget_share: float  # of the period's budget (its events' allowance)
    alerts: tuple[str, ...]  # the tiers that fired in it

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class GroupReport:
    group: Labels
    steps: list[Step]
    tiers: list[TierHistory] = field(default_factory=list)
    previous: tuple[float, float] | None = None  # (events, bad) of the period before

    @property
    def total(self) -> float:
        return sum(s.total for s in self.steps)

    @property
    def bad(self) -> float:
        return sum(s.bad for s in self.steps)

    @property
    def attainment(self) -> float | None:
        return None if self.total <= 0 else 1 - self.bad / self.total

    def allowed(self, budget: Budget) -> float:
        """The bad events the objectives allow in the period's traffic, each step's by
        the objective in force then."""
        return sum(budget(s.inside) * s.total for s in self.steps)

    def met(self, budget: Budget) -> bool | None:
        """No more bad events than allowed (the attainment at or above the objective,
        where one held throughout); None without events."""
        return None if self.total <= 0 else self.bad <= self.allowed(budget) * (1 + 1e-12)

    def budget_consumed(self, budget: Budget) -> float | None:
        """Bad events over those the objectives allow in the period's traffic."""
        return None if self.total <= 0 else self.bad / self.allowed(budget)

    def burn_down(self, budget: Budget) -> list[tuple[float, float]]:
        """(time, share of the period's budget left) after each step."""
        allowed = self.allowed(budget)
        left, spent = [], 0.0
        for step in self.steps:
            spent += step.bad
            left.append((step.end, 1 - spent / allowed if allowed > 0 else 1.0))
        return left

    def window_consumed(self, budget: Budget, period: int, span: float) -> float | None:
        """The budget consumed of the SLO's own window: the range's bad events over what
        the objective allows in a window of the same traffic."""
        consumed = self.budget_consumed(budget)
        return None if consumed is None else consumed * span / period

    def previous_attainment(self) -> float | None:
        if self.previous is None or self.previous[0] <= 0:
            return None
        return 1 - self.previous[1] / self.previous[0]

    def incidents(self, budget: Budget, width: int) -> list[Incident]:
        """Runs of steps whose error ratio is over the budget (burning faster than 1x),
        a quiet step between two kept together."""
        runs: list[list[Step]] = []
        for step in self.steps:
            if step.total <= 0 or step.bad / step.total <= budget(step.inside):
                continue
            if runs and step.end - runs[-1][-1].end <= 2 * width:
                runs[-1].append(step)
            else:
                runs.append([step])
        allowed = self.allowed(budget)
        out = []
        for run in runs:
            start, end = run[0].end - width, run[-1].end
            bad = sum(s.bad for s in run)
            fired = sorted(
                {
                    t.tier
                    for t in self.tiers
                    for e in t.episodes
                    if e.fired is not None and start <= e.fired <= end + width
                }
            )
            share = bad / allowed if allowed > 0 else 0.0
            out.append(Incident(start, end, bad, share, tuple(fired)))
        return out

    def document(self, budget: Budget, period: int, span: float, step: int) -> dict[str, Any]:
        """Its part of the report's JSON form: `budget` at each moment, the SLO's window
        `period`, the `span` read and the report's `step` (the incidents' resolution)."""
        previous = None
        if self.previous is not None:
            total, bad = self.previous
            previous = {
                "total_events": total,
                "bad_events": bad,
                "attainment": self.previous_attainment(),
            }
        return {
            "group": self.group,
            "total_events": self.total,
            "bad_events": self.bad,
            "attainment": self.attainment,
            "met": self.met(budget),
            "budget_consumed": self.budget_consumed(budget),
            "budget_consumed_of_slo_window": self.window_consumed(budget, period, span),
            "previous_period": previous,
            "incidents": [
                {
                    "from": i.start,
                    "to": i.end,
                    "bad_events": i.bad,
                    "budget_share": i.budget_share,
                    "alerts": list(i.alerts),
                }
                for i in self.incidents(budget, step)
            ],
            "episodes": [
                {"tier": t.tier, "slo_tier": t.slo_tier, "fired": e.fired, "ended": e.end}
                for t in self.tiers
                for e in t.episodes
            ],
            "steps": [[p.end, p.total, p.bad] for p in self.steps],
        }


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
    description: str = ""
    team: str = ""
    sli: str = ""  # the SLI in words
    period: int = 30 * 86400  # the SLO's own window, seconds
    history: tuple[tuple[float, float], ...] = ()  # objectives before: (until, percent)
    source: str = "raw"  # RECORDED or RAW: where its numbers come from

    def objective_at(self, t: float) -> float:
        return in_force(self.history, t, self.objective)

    def budget_at(self, t: float) -> float:
        return 1 - self.objective_at(t) / 100

    def objectives(self, start: float, end: float) -> list[float]:
        """The objectives in force over [start, end), in order."""
        found = [self.objective_at(start)]
        found += [self.objective_at(u) for u, _ in self.history if start < u < end]
        return [o for i, o in enumerate(found) if i == 0 or o != found[i - 1]]

    def document(self, start: float, read_to: float, step: int) -> dict[str, Any]:
        """Its part of the report's JSON form, read over [start, read_to) in steps of `step`."""
        return {
            "service": self.service,
            "slo": self.slo,
            "objective_percent": self.objective,
            "objectives_in_force": self.objectives(start, read_to),
            "description": self.description,
            "team": self.team,
            "sli": self.sli,
            "period_seconds": self.period,
            "status": self.status,
            "source": self.source,
            "covered": self.covered,
            "gaps": [g.document() for g in self.gaps],
            "reasons": self.reasons,
            "groups": [
                g.document(self.budget_at, self.period, read_to - start, step) for g in self.groups
            ],
        }


@dataclass
class Report:
    prometheus: str
    start: float
    end: float
    period: str  # how the command named it: 2026-11, 2026-Q4, 2026-W48; "" for a range
    timezone: str
    step: int
    slos: list[SloReport]
    until: float | None = None  # where a period still running was read to (now)

    @property
    def read_to(self) -> float:
        return self.end if self.until is None else self.until

    def document(self) -> dict[str, Any]:
        """The JSON form (schemas/report.schema.json)."""
        return {
            "prometheus": self.prometheus,
            "period": self.period,
            "timezone": self.timezone,
            "start": self.start,
            "end": self.end,
            "read_to": self.read_to,
            "step_seconds": self.step,
            "slos": [s.document(self.start, self.read_to, self.step) for s in self.slos],
        }


def step_for(start: float, end: float) -> int:
    """An hour per step, five minutes for a range under two days."""
    return HOUR if end - start >= 2 * 86400 else FIVE_MINUTES


def _source(client: Client, plan: SloPlan, start: float, until: float) -> tuple[str, str]:
    """Where the numbers come from, and the sentence that says so: the compiled rules'
    recorded slices where they cover the whole range (their samples times their width,
    as `status` judges the recorded series), else the raw counters."""
    if plan.slices is None:
        return RAW, "read from the raw counters"
    build = ExprBuilder(counters(plan), plan.group_by, plan.selector_labels, plan.slices)
    fine = series(build.fine_total, plan.selector_labels).render()
    span = until - start
    found = client.query(f"max(count_over_time({fine}[{max(1, int(span))}s]))", until)
    recorded = (found[0][1] if found else 0.0) * plan.slices.fine
    if recorded >= span - max(3 * SLICE, span / 100):
        return RECORDED, "read from the compiled rules' recorded slices and alert conditions"
    if not recorded:
        return RAW, "read from the raw counters: the compiled rules are not loaded here"
    return RAW, (
        f"read from the raw counters: the compiled rules have recorded "
        f"{format_duration(int(recorded))} of the range"
    )


def _step_exprs(plan: SloPlan, step: int, source: str) -> tuple[str, str]:
    """(events, bad events) of each step: the counters' increase, or the sum of the
    recorded fine slices in it (each the rate of its slice: times its width)."""
    sli = counters(plan)
    build = ExprBuilder(sli, plan.group_by, plan.selector_labels, plan.slices or DEFAULT_SLICES)
    if source == RAW:
        return build.sum_rate(sli.total, step, "increase"), build.errors_over(sli, step, "increase")
    by = f" by ({', '.join(plan.group_by)})" if plan.group_by else ""
    width = build.slices.fine
    # A range holds both its ends: a millisecond short, each slice is in one step only.
    total, bad = (
        f"sum{by} (sum_over_time({series(m, plan.selector_labels).render()}"
        f"[{step * 1000 - 1}ms])) * {width}"
        for m in (build.fine_total, build.fine_errors)
    )
    return total, bad


def _steps(
    client: Client, plan: SloPlan, start: float, end: float, step: int, source: str = RAW
) -> dict[Key, list[Step]]:
    """Per group, the events and bad events of each step of [start, end)."""
    total, bad = _step_exprs(plan, step, source)
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


def sli_words(plan: SloPlan) -> str:
    """The SLI as a reader of the report says it."""
    sli = plan.counters
    if sli is None:
        return f"error ratio {plan.query.written}"
    if sli.le:
        return f"{sli.total.render()} within {sli.le[0]}s"
    if sli.errors is not None:
        return f"bad {sli.errors.render()} of {sli.total.render()}"
    return f"good {sli.good.render() if sli.good else ''} of {sli.total.render()}"


def report_slo(
    client: Client,
    plan: SloPlan,
    start: float,
    end: float,
    interval: int,
    until: float | None = None,
    team_label: str = "team",
) -> SloReport:
    """The report of one SLO over [start, end), read up to `until` when that is earlier
    (a period still running: now)."""
    result = SloReport(
        plan.service,
        plan.name,
        float(plan.objective),
        float(plan.budget),
        description=plan.description,
        team=dict(plan.series_labels).get(team_label, ""),
        sli=sli_words(plan),
        period=plan.period,
        history=tuple((until, float(objective)) for until, objective in plan.history),
    )
    read_to = end if until is None else min(end, until)
    result.source, said = _source(client, plan, start, read_to)
    recorded = result.source == RECORDED
    history = backtest_slo(client, plan, Window(start, read_to, interval), recorded)
    result.gaps, result.reasons = history.gaps, [said, *history.reasons]
    missing = sum(g.seconds for g in history.gaps if g.target is None)
    result.covered = max(0.0, 1 - missing / max(1.0, read_to - start))
    if history.status in (NO_DATA, UNSUPPORTED):
        result.status = history.status
        result.covered = 0.0 if history.status == NO_DATA else result.covered
        return result
    step = step_for(start, end)
    tiers = {tuple(g.group.get(n, "") for n in plan.group_by): g.tiers for g in history.groups}
    # The period of the same length before: its events, by the raw counters' increase.
    totals, bad = events(client, plan, Window(start - (read_to - start), start, 1))
    before = {key: (total, bad.get(key, 0.0)) for key, total in totals.items()}
    for key, steps in sorted(_steps(client, plan, start, read_to, step, result.source).items()):
        group = dict(zip(plan.group_by, key, strict=True))
        result.groups.append(GroupReport(group, steps, tiers.get(key, []), before.get(key)))
    _judge(result, read_to < end)
    result.groups, left_out = shown(result.groups, result.budget_at)
    result.reasons += [left_out] if left_out else []
    return result


def _judge(result: SloReport, running: bool) -> None:
    """The verdict over every group: none without events, without enough data or while
    the period runs (the attainment so far is shown, not judged)."""
    verdicts = [g.met(result.budget_at) for g in result.groups]
    if all(v is None for v in verdicts):
        result.status = NO_DATA
        result.reasons.append("no events in the period")
    elif result.covered < ENOUGH:
        result.status = NOT_ENOUGH
        result.reasons.append(
            f"data for {result.covered * 100:.1f}% of the period so far: too little to judge"
        )
    elif running:
        result.status = IN_PROGRESS
    elif False in verdicts:
        result.status = MISSED


def shown(groups: list[GroupReport], budget: Budget) -> tuple[list[GroupReport], str | None]:
    """At most MAX_GROUPS groups, the lowest attainment first chosen (in their own order),
    and what is said of the others; the verdict was taken over all of them."""
    if len(groups) <= MAX_GROUPS:
        return groups, None
    ranked = sorted(
        groups, key=lambda g: (g.attainment is None, g.attainment if g.attainment else 0.0)
    )
    kept = {id(g) for g in ranked[:MAX_GROUPS]}
    rest = ranked[MAX_GROUPS:]
    missed = sum(1 for g in rest if g.met(budget) is False)
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
    now: float | None = None,
    team_label: str = "team",
) -> Report:
    """Every SLO's report over [start, end); a period that has not ended is read to `now`
    (rounded down to a step, so the last step is whole)."""
    step = step_for(start, end)
    until = None
    if now is not None and now < end:
        until = max(start, start + (now - start) // step * step)
    return Report(
        client.display,
        start,
        end,
        period,
        timezone,
        step,
        [report_slo(client, p, start, end, interval, until, team_label) for p in plans],
        until,
    )
