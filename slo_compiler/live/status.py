"""`slo-compiler status`: where each SLO stands now, over its rolling period.

Per SLO, and per group of a grouped SLO:

* the SLI over the period and the error budget left (a fraction: 1 untouched, 0 spent,
  below 0 overspent), and at the current burn (the fastest page tier's long window) the
  time until the budget is spent;
* each tier's burn over its long and short windows beside its factor: both above it is
  what pages or tickets;
* the tier alerts pending or firing now (`ALERTS`), where Prometheus evaluates them;
* how much of the period had data (coverage.py: gaps are named, never taken as quiet).

Where the compiled rules are deployed and have recorded the period (as far as the raw
counters reach) the recorded series answer (cheap: what dashboards and alerts read);
otherwise the raw counters do, through the same expressions the rules are built from
(plan.ExprBuilder). The report says which, and why not the recorded series. Targets that
exported the SLI and are down now make it TARGETS_DOWN, never OK: their requests fail
where nobody counts them, and a period's coverage is looked at too coarsely to see
minutes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from ..base.durations import format_duration
from ..base.tiers import FASTEST_PAGE
from ..rules.burnrate import SLICE, Tier, decimal_str
from ..rules.ir import SloPlan
from ..rules.plan import BUDGET_REMAINING, ExprBuilder, ratio_metric
from ..rules.promql import series
from ..rules.sli import EventSli
from . import environment
from .client import Client, Labels
from .coverage import Gap
from .queries import Key, Window, by_group, counters, events, group_key, uncounted
from .timespec import iso

OK, EXHAUSTED, BURNING, NO_DATA, UNSUPPORTED, TARGETS_DOWN = (
    "ok",
    "exhausted",
    "burning",
    "no-data",
    "unsupported",
    "targets-down",
)
RECORDED, RAW = "recorded", "raw"
# The period is looked at in this many steps for its coverage.
COVERAGE_STEPS = 1000
# The recorded series may cover this many coverage steps less than the raw counters
# (the raw counters' gaps are seen a step at a time).
COVERAGE_SLACK = 2
NOT_LOADED = (
    "the compiled rules are not loaded in this Prometheus (or have stopped: their series "
    "have no value now): read from the raw counters"
)


@dataclass
class TierBurn:
    tier: str
    slo_tier: str  # page or ticket
    factor: float
    long_burn: float | None  # the burn over the long window (None: no traffic in it)
    short_burn: float | None
    alert: str | None  # pending, firing, or None

    @property
    def burning(self) -> bool:
        """Both windows above the factor: the tier's condition holds now."""
        return all(b is not None and b > self.factor for b in (self.long_burn, self.short_burn))


@dataclass
class GroupStatus:
    group: Labels
    error_ratio: float | None  # over the period (None: no events)
    budget_left: float | None  # 1 - error ratio / budget
    total: float | None  # events over the period (raw counters only)
    errors: float | None
    tiers: list[TierBurn] = field(default_factory=list)
    status: str = OK

    @property
    def sli(self) -> float | None:
        return None if self.error_ratio is None else 1 - self.error_ratio

    def burn_now(self) -> float | None:
        """The burn over the fastest page tier's long window (the others' when disabled)."""
        burns = [t.long_burn for t in self.tiers if t.long_burn is not None]
        fastest = [t.long_burn for t in self.tiers if t.tier == FASTEST_PAGE.name]
        return fastest[0] if fastest and fastest[0] is not None else min(burns, default=None)

    def exhausted_in(self, period: int) -> float | None:
        """Seconds until the budget is spent at the current burn (None: never, or spent)."""
        burn = self.burn_now()
        if burn is None or burn <= 0 or self.budget_left is None or self.budget_left <= 0:
            return None
        return self.budget_left * period / burn


@dataclass
class SloStatus:
    service: str
    slo: str
    objective: float
    period: int
    source: str = RAW
    covered: float = 0.0  # share of the period with data
    gaps: list[Gap] = field(default_factory=list)
    groups: list[GroupStatus] = field(default_factory=list)
    status: str = OK
    reasons: list[str] = field(default_factory=list)


@dataclass
class StatusReport:
    prometheus: str
    at: float
    slos: list[SloStatus]

    def document(self) -> dict[str, Any]:
        """The JSON form (schemas/status-report.schema.json)."""
        return {
            "prometheus": self.prometheus,
            "at": self.at,
            "slos": [
                {
                    "service": s.service,
                    "slo": s.slo,
                    "objective_percent": s.objective,
                    "period_seconds": s.period,
                    "source": s.source,
                    "covered": s.covered,
                    "gaps": [g.document() for g in s.gaps],
                    "status": s.status,
                    "reasons": s.reasons,
                    "groups": [
                        {
                            "group": g.group,
                            "sli": g.sli,
                            "error_ratio": g.error_ratio,
                            "budget_left": g.budget_left,
                            "exhausted_in_seconds": g.exhausted_in(s.period),
                            "total_events": g.total,
                            "bad_events": g.errors,
                            "status": g.status,
                            "tiers": [
                                {
                                    "tier": t.tier,
                                    "slo_tier": t.slo_tier,
                                    "factor": t.factor,
                                    "long_burn": t.long_burn,
                                    "short_burn": t.short_burn,
                                    "burning": t.burning,
                                    "alert": t.alert,
                                }
                                for t in g.tiers
                            ],
                        }
                        for g in s.groups
                    ],
                }
                for s in self.slos
            ],
        }


def _ratios(
    client: Client, plan: SloPlan, window: int, at: float, recorded: bool
) -> dict[Key, float]:
    """The error ratio over `window` per group: the recorded series, or the raw counters."""
    if recorded:  # one series per group already
        expr = series(ratio_metric(window), plan.selector_labels).render()
    else:
        sli = counters(plan)
        expr = ExprBuilder(sli, plan.group_by, plan.selector_labels).counter_ratio(sli, window)
    return by_group(client, expr, at, plan.group_by)


def _alerts(client: Client, plan: SloPlan, at: float) -> dict[tuple[str, Key], str]:
    """The state of each tier alert now, by (slo_window, group): firing over pending."""
    alert = plan.alert_name
    selector = series("ALERTS", {"alertname": alert, **plan.selector_labels}).render()
    out: dict[tuple[str, Key], str] = {}
    for labels, _ in client.query(selector, at):
        key = (labels.get("slo_window", ""), group_key(labels, plan.group_by))
        state = labels.get("alertstate", "")
        if out.get(key) != "firing":
            out[key] = state
    return out


def _burns(
    client: Client, plan: SloPlan, at: float, recorded: bool
) -> dict[tuple[int, Key], float]:
    """Per (window, group), the burn over each tier window."""
    budget = float(plan.budget)
    windows = sorted({w for t in plan.tiers for w in (t.long_window, t.short_window)})
    return {
        (window, key): ratio / budget
        for window in windows
        for key, ratio in _ratios(client, plan, window, at, recorded).items()
    }


def _tier(tier: Tier, key: Key, burns: dict[tuple[int, Key], float], alert: str | None) -> TierBurn:
    return TierBurn(
        tier.name,
        tier.severity,
        float(tier.factor),
        burns.get((tier.long_window, key)),
        burns.get((tier.short_window, key)),
        alert,
    )


def _source(
    client: Client, plan: SloPlan, at: float, raw_covered: float | None
) -> tuple[str, float, str | None]:
    """Where the numbers come from: (RECORDED or RAW, the seconds of the period the
    rules have recorded, why not the recorded series). They answer where they have a
    value now and cover the period as far as the raw counters do (`raw_covered`; None
    for a raw SLI, which has nothing else to read): rules loaded a minute ago hold one
    sample of a 30d ratio, rules stopped a while ago hold a stale one."""
    now = series(ratio_metric(plan.period), plan.selector_labels).render()
    if not client.query(now, at):
        return RAW, 0.0, NOT_LOADED
    recorded = environment.recorded_for(client, plan, at)
    slack = max(COVERAGE_SLACK * plan.period / COVERAGE_STEPS, 3 * SLICE)
    if raw_covered is None or recorded >= raw_covered - slack:
        return RECORDED, recorded, None
    young = (
        f"the compiled rules have recorded {format_duration(int(recorded))} of the period, "
        f"the raw counters cover {format_duration(int(raw_covered))}: read from the raw "
        "counters until the rules cover it"
    )
    return RAW, recorded, young


def _seen(client: Client, plan: SloPlan, sli: EventSli, at: float, result: SloStatus) -> bool:
    """The raw counters' coverage of the period, and what makes the SLO unreadable: no
    series at all, a metric the SLI reads unknown (NO_DATA); targets that exported the
    SLI down now (their requests are not counted: TARGETS_DOWN unless the budget says
    worse). Whether the SLO can be read."""
    # On a grid fixed to the epoch, not to the clock: two runs minutes apart name the
    # same gap times. It ends at the grid's first point from now on: a point a little in
    # the future still sees the newest samples (a fresh Prometheus has only those).
    step = plan.period / COVERAGE_STEPS
    aligned = math.ceil(at / step) * step
    period = Window(aligned - plan.period, aligned, 1)
    looked = environment.seen(client, plan, period, step, "period")
    result.reasons += looked.notes
    result.gaps = looked.coverage.gaps
    missing = sum(g.seconds for g in looked.coverage.gaps if g.target is None)
    result.covered = max(0.0, 1 - missing / plan.period)
    if looked.unreadable:
        result.status, result.reasons = NO_DATA, looked.unreadable
        return False
    exporting, down = environment.targets_down(client, sli, at)
    if down:
        result.status = TARGETS_DOWN
        result.reasons.append(
            f"targets down now ({len(down)} of {exporting}): {', '.join(down)}; "
            "their requests are not counted"
        )
    return True


def _allowed(
    client: Client, plan: SloPlan, at: float, totals: dict[Key, float]
) -> dict[Key, float]:
    """Per group, the bad events the objectives allow over the period: each stretch
    between changes of objective (objective_history) by the one in force then."""
    edges = [at - plan.period, *(u for u, _ in plan.history if at - plan.period < u < at), at]
    if len(edges) == 2:
        return {k: float(plan.budget) * t for k, t in totals.items()}
    allowed: dict[Key, float] = {}
    for a, b in itertools.pairwise(edges):
        stretch, _ = events(client, plan, Window(a, b, 1))
        for key, total in stretch.items():
            allowed[key] = allowed.get(key, 0.0) + plan.budget_at(a) * total
    return allowed


def status_slo(client: Client, plan: SloPlan, at: float, in_prometheus: bool) -> SloStatus:
    result = SloStatus(plan.service, plan.name, float(plan.objective), plan.period)
    sli = plan.counters
    if sli is not None and not _seen(client, plan, sli, at, result):
        return result
    raw_covered = result.covered * plan.period if sli is not None else None
    result.source, recorded_for, why = _source(client, plan, at, raw_covered)
    if sli is None and result.source == RAW:
        result.status = UNSUPPORTED
        result.reasons.append(
            f"{uncounted(plan)}, and its rules have no value in this Prometheus now"
        )
        return result
    if sli is None:
        result.covered = recorded_for / plan.period
    changed = _objective_changed(plan, at)
    if changed and sli is not None and result.source == RECORDED:
        # The recorded budget is today's objective's over the whole period.
        result.source, why = RAW, changed
    recorded = result.source == RECORDED
    totals: dict[Key, float] = {}
    bad: dict[Key, float] = {}
    if recorded:
        ratios = _ratios(client, plan, plan.period, at, True)
        remaining = series(BUDGET_REMAINING, plan.selector_labels).render()
        left = by_group(client, remaining, at, plan.group_by)
    else:
        totals, bad = events(client, plan, Window(at - plan.period, at, 1))
        ratios = {k: bad.get(k, 0.0) / t for k, t in totals.items() if t > 0}
        allowed = _allowed(client, plan, at, totals)
        left = {k: 1 - bad.get(k, 0.0) / a for k, a in allowed.items() if a > 0}
    burns = _burns(client, plan, at, recorded)
    alerts = _alerts(client, plan, at) if recorded and in_prometheus else {}
    for key in sorted(set(ratios) | set(totals)):
        group = GroupStatus(
            dict(zip(plan.group_by, key, strict=True)),
            ratios.get(key),
            left.get(key),
            totals.get(key) if not recorded else None,
            bad.get(key, 0.0) if not recorded else None,
        )
        group.tiers = [_tier(t, key, burns, alerts.get((t.window_label, key))) for t in plan.tiers]
        if group.budget_left is not None and group.budget_left <= 0:
            group.status = EXHAUSTED
        elif any(t.burning for t in group.tiers if t.slo_tier == "page"):
            group.status = BURNING
        result.groups.append(group)
    _judge(result)
    if why:
        result.reasons.append(why)
    return result


def _objective_changed(plan: SloPlan, at: float) -> str | None:
    """Why the raw counters answer where the objective changed within the period ending
    at `at`; None where it held all along."""
    changed = [u for u, _ in plan.history if at - plan.period < u < at]
    if not changed:
        return None
    return (
        f"the objective changed within the period (until {iso(changed[-1])} it was "
        f"{decimal_str(plan.objective_at(changed[-1] - 1))}%): the raw counters answer, "
        "each stretch judged by the objective then"
    )


def _judge(result: SloStatus) -> None:
    """The SLO's status from its groups': the worst of them, NO-DATA without any."""
    if not result.groups:
        result.status = NO_DATA
        result.reasons.append("no events in the period")
        return
    result.status = next(
        (s for s in (EXHAUSTED, BURNING) if any(g.status == s for g in result.groups)),
        result.status,
    )


def status(
    client: Client, plans: list[SloPlan], at: float, in_prometheus: bool = True
) -> StatusReport:
    return StatusReport(
        client.display, at, [status_slo(client, p, at, in_prometheus) for p in plans]
    )
