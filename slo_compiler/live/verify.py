"""`slo-compiler verify`: the SLOs checked in a live Prometheus over a window (a load test).

Per SLO, and per group of a grouped SLO, in this order:

1. preflight: the SLI's selectors have series in the window (else *inconclusive*, never
   a pass);
2. coverage: the SLI was seen through the window (coverage.py), judged at the real scrape
   interval where it is longer than declared: a target down or the series missing for
   longer than --allow-gaps fails the gate, with the gap's times and target; counter
   resets are reported;
3. events: all and bad events from the raw counters, from the last scrape before the
   window to the first after it, series created in the window counted from zero (an app
   creates its request counters on first use), the SLI and the budget burn;
4. the tier gate: which tiers' factors the window's burn crosses;
5. the replay: each tier's condition, in raw-counter form, at the rule evaluation interval
   with its `for`, from `for` before the window so that an alert already pending or firing
   at the start is known (carried in) and judged apart from the window's own;
6. the actual: the `ALERTS` of the deployed rules (when Prometheus evaluates them), and a
   note where they disagree with the replay.

The verdict is data (Report); rendering it is the edge's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ..base.durations import format_duration
from ..rules.burnrate import Tier, decimal_str
from ..rules.ir import SloPlan
from ..rules.plan import TOTAL_RATE
from ..rules.promql import series
from . import environment
from .client import Client, Labels
from .coverage import Gap, coverage
from .environment import INTERVAL_SPAN
from .queries import (
    Key,
    Window,
    burn,
    counted,
    counters,
    group_key,
    has_series,
    over_window,
    replay,
    uncounted,
)
from .replay import MAX_POINTS, Episode
from .timespec import iso

PASS, VIOLATED, INCONCLUSIVE = "pass", "violated", "inconclusive"
GATES = ("page", "ticket", "objective")
CLASSES = ("page", "ticket")
# Who evaluates the alerts that verify compares the replay with.
PROMETHEUS, GRAFANA, NOT_LOADED = "prometheus", "grafana", "not-loaded"
PENDING, FIRING = "pending", "firing"
# Without the gate's wait, events are read up to the scrape nearest to the window's end:
# up to this many scrape intervals after it.
AFTER_END = 0.5


@dataclass
class TierResult:
    tier: str
    slo_tier: str
    factor: float
    crossed: bool  # the window's own burn is above the tier's factor
    fired_at: float | None  # the replay's first firing that began in the window
    carried_in: str | None  # the replay's state at the window's start: pending, firing
    replay_fired: bool  # the replay fired at any time in the window, carried in or not
    actual_fired_at: float | None  # the deployed alert's first firing in the window
    actual_carried_in: bool  # the deployed alert fired at the window's start


@dataclass
class GroupResult:
    group: Labels
    total: float
    errors: float
    tiers: list[TierResult] = field(default_factory=list)
    status: str = PASS
    reasons: list[str] = field(default_factory=list)

    @property
    def sli(self) -> float | None:
        return None if self.total <= 0 else 1 - self.errors / self.total


@dataclass
class SloResult:
    service: str
    slo: str
    objective: float
    groups: list[GroupResult] = field(default_factory=list)
    status: str = PASS
    reasons: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    resets: list[tuple[Labels, int]] = field(default_factory=list)
    deployed: str = NOT_LOADED  # who evaluated the alerts compared with the replay


@dataclass
class Report:
    prometheus: str
    start: float
    end: float
    gate: str
    slos: list[SloResult]

    @property
    def status(self) -> str:
        """The worst of the SLOs'; nothing checked is inconclusive, never a pass."""
        return worst_status([s.status for s in self.slos])

    def document(self) -> dict[str, Any]:
        """The JSON form (schemas/verify-report.schema.json)."""
        return {
            "prometheus": self.prometheus,
            "start": self.start,
            "end": self.end,
            "gate": self.gate,
            "status": self.status,
            "event_counts": "estimated",
            "slos": [
                {
                    "service": s.service,
                    "slo": s.slo,
                    "objective_percent": s.objective,
                    "status": s.status,
                    "reasons": s.reasons,
                    "deployed_alerts": s.deployed,
                    "gaps": [{**g.document(), "seconds": g.seconds} for g in s.gaps],
                    "counter_resets": [{"target": t, "resets": n} for t, n in s.resets],
                    "groups": [
                        {
                            "group": g.group,
                            "total_events": g.total,
                            "bad_events": g.errors,
                            "sli": g.sli,
                            "status": g.status,
                            "reasons": g.reasons,
                            "tiers": [vars(t) for t in g.tiers],
                        }
                        for g in s.groups
                    ],
                }
                for s in self.slos
            ],
        }


@dataclass(frozen=True)
class Options:
    window: Window
    gate: str = "page"
    min_events: float = 1
    expect_fire: tuple[tuple[str | None, str], ...] = ()  # (SLO or None, tier or class)
    alerts_in_prometheus: bool = True  # the config's alert engine evaluates them there
    allow_gaps: float = 0  # seconds: a gap up to this long is reported, not failed
    carried_in_fails: bool = False  # judge alerts carried in from before the window too
    # When every target exporting the SLI had been scraped after the window's end (the
    # gate waits for it); None: the scrape nearest to the window's end, or now.
    until: float | None = None
    now: float | None = None  # the time of the run: no later scrape is asked for


def worst_status(statuses: list[str]) -> str:
    """Violated over inconclusive over pass; no status at all is inconclusive."""
    if not statuses:
        return INCONCLUSIVE
    return next(s for s in (VIOLATED, INCONCLUSIVE, PASS) if s in statuses)


def _covered(
    client: Client,
    plan: SloPlan,
    opts: Options,
    window: Window,
    interval: float,
    result: SloResult,
) -> None:
    """Coverage of the SLI's total selector over `window`, judged at the real scrape
    interval: gaps over --allow-gaps fail the SLO."""
    step = max(interval / 2, (window.end - window.start) / MAX_POINTS)
    seen = coverage(client, counters(plan).total, window.start, window.end, interval, step)
    # Looked at up to the scrape after the window; told within the window.
    end = opts.window.end
    result.gaps = [replace(g, end=min(g.end, end)) for g in seen.gaps if g.start < end]
    result.resets = seen.resets
    for gap in result.gaps:
        span = f"from {iso(gap.start)} to {iso(gap.end)} ({format_duration(int(gap.seconds))})"
        if gap.seconds > opts.allow_gaps:
            result.status = VIOLATED
            result.reasons.append(
                f"gap: {gap.describe()} {span}: the window was not seen whole "
                "(--allow-gaps DURATION accepts gaps up to that long)"
            )
        else:
            result.reasons.append(f"gap (allowed): {gap.describe()} {span}")
    result.reasons += seen.reset_notes()


def _state(found: list[Episode], window: Window, strict: bool) -> tuple[float | None, str | None]:
    """(first firing in the window that counts, state carried in at the window's start)."""
    start = window.start
    carried = next((e for e in found if e.start < start and (e.end is None or e.end > start)), None)
    state = None
    if carried is not None:
        state = FIRING if carried.fired is not None and carried.fired <= start else PENDING
    own = [e.fired for e in found if e.start >= start and e.fired is not None]
    if strict and carried is not None and carried.fired is not None:
        own.insert(0, max(carried.fired, start))
    return (own[0] if own else None), state


def _replay_fired(found: list[Episode], window: Window) -> bool:
    return any(
        e.fired is not None and e.fired <= window.end and (e.end is None or e.end > window.start)
        for e in found
    )


def _until(client: Client, plan: SloPlan, opts: Options) -> tuple[float, float]:
    """(the real scrape interval, the time the window's events are read at). Measured
    where the samples are: the window's end, or now for a window that has just ended (a
    fresh Prometheus has scraped a 2m target twice by then)."""
    window = opts.window
    at = window.end if opts.now is None else min(opts.now, window.end + INTERVAL_SPAN)
    interval = environment.effective_interval(client, plan, at)
    until = opts.until or window.end + AFTER_END * interval
    return interval, until if opts.now is None else min(until, opts.now)


def _deployment(client: Client, plan: SloPlan, opts: Options, result: SloResult) -> None:
    """Who evaluates the alerts the replay is compared with, said in the reasons."""
    if not _deployed(client, plan, opts.window):
        result.reasons.append(
            "the compiled rules are not loaded in this Prometheus (no recorded series of "
            "this SLO in the window): the replay alone says what would have fired"
        )
    elif not opts.alerts_in_prometheus:
        result.deployed = GRAFANA
        result.reasons.append(
            "the alerts are Grafana-managed (alert_engine): the replay says what would have fired"
        )
    else:
        result.deployed = PROMETHEUS


def _group(
    plan: SloPlan,
    opts: Options,
    group: GroupResult,
    key: Key,
    replays: dict[str, dict[Key, list[Episode]]],
    actual: dict[tuple[str, Key], list[float]],
    compare: bool,
) -> None:
    """One group judged: its events' burn against each tier, the replay's firings and
    the deployed alerts', the expectations, and the objective gate."""
    window = opts.window
    if group.total < opts.min_events:
        group.status = INCONCLUSIVE
        group.reasons.append(f"{group.total:g} events, fewer than --min-events {opts.min_events:g}")
        return
    rate = burn(group.errors, group.total, plan.budget)
    for tier in plan.tiers:
        found = replays[tier.name].get(key, [])
        fired_at, carried = _state(found, window, opts.carried_in_fails)
        fired = actual.get((tier.window_label, key), [])
        tier_result = TierResult(
            tier.name,
            tier.severity,
            float(tier.factor),
            rate > tier.factor,
            fired_at,
            carried,
            _replay_fired(found, window),
            min(fired, default=None),
            bool(fired) and min(fired) < window.start + window.interval,
        )
        group.tiers.append(tier_result)
        _judge(group, tier, tier_result, rate, opts, compare)
    _expectations(group, plan, opts, compare)
    if opts.gate == "objective" and rate > 1:
        group.status = VIOLATED
        group.reasons.append(
            f"the SLI {group.sli:.6f} misses the objective ({decimal_str(rate)}x burn)"
        )


def verify_slo(client: Client, plan: SloPlan, opts: Options) -> SloResult:
    result = SloResult(plan.service, plan.name, float(plan.objective))
    if plan.counters is None:
        result.status = INCONCLUSIVE
        result.reasons.append(uncounted(plan))
        return result
    window = opts.window
    interval, until = _until(client, plan, opts)
    # What was scraped up to `until` holds the window: a series created by a load test's
    # first request may first be scraped after its end.
    seen = Window(window.start, max(window.end, until), window.interval)
    missing = environment.missing(client, plan, seen)
    if missing:
        result.status, result.reasons = INCONCLUSIVE, missing
        return result
    result.reasons += environment.interval_note(plan, interval)
    _covered(client, plan, opts, seen, interval, result)
    totals, errors = counted(client, plan, window, until)
    replays = {
        tier.name: replay(client, plan, tier, window, lead=tier.for_ + window.interval)
        for tier in plan.tiers
    }
    _deployment(client, plan, opts, result)
    compare = result.deployed == PROMETHEUS
    actual = _actual(client, plan, window) if compare else {}
    for key in sorted(totals):
        group = GroupResult(
            dict(zip(plan.group_by, key, strict=True)), totals[key], errors.get(key, 0.0)
        )
        result.groups.append(group)
        _group(plan, opts, group, key, replays, actual, compare)
    if not result.groups:
        result.reasons.append("no events counted in the window")
    own = [result.status] if result.status == VIOLATED else []
    result.status = worst_status(own + [g.status for g in result.groups])
    return result


def _actual(client: Client, plan: SloPlan, window: Window) -> dict[tuple[str, Key], list[float]]:
    """When each deployed tier alert fired in the window, by (slo_window, group)."""
    alert = plan.alert_name
    selector = series(
        "ALERTS",
        {"alertname": alert, "alertstate": "firing", **plan.selector_labels},
    ).render()
    out: dict[tuple[str, Key], list[float]] = {}
    for labels, values in over_window(client, selector, window.start, window.end, window.interval):
        key = (labels.get("slo_window", ""), group_key(labels, plan.group_by))
        out.setdefault(key, []).extend(t for t, _ in values)
    return out


def _deployed(client: Client, plan: SloPlan, window: Window) -> bool:
    """Whether this Prometheus evaluates the SLO's recording rules."""
    return has_series(client, series(TOTAL_RATE, plan.selector_labels).render(), window)


def _expected(opts: Options, plan: SloPlan) -> list[str]:
    """The tiers or classes (page, ticket) this run expects of the SLO."""
    return [
        what
        for slo, what in opts.expect_fire
        if slo in (None, plan.name, f"{plan.service}/{plan.name}")
    ]


def _expectations(group: GroupResult, plan: SloPlan, opts: Options, compare: bool) -> None:
    """--expect-fire: a tier named must fire; a class (page, ticket) needs one of its tiers.
    Only a firing that began in the window counts: one carried in is a previous run's."""
    for what in _expected(opts, plan):
        tiers = [t for t in group.tiers if what in (t.tier, t.slo_tier)]
        fired = [t for t in tiers if t.fired_at is not None]
        label = f"tier {what}" if what not in CLASSES else f"a {what} tier"
        if not fired:
            group.status = VIOLATED
            carried = [t.tier for t in tiers if t.carried_in]
            note = (
                f" ({', '.join(carried)} already pending or firing at the window's start: "
                "carried in from before, not this run's)"
                if carried
                else ""
            )
            group.reasons.append(f"{label} was expected to fire and did not{note}")
        elif compare and all(t.actual_fired_at is None for t in fired):
            group.status = VIOLATED
            group.reasons.append(
                f"{label} fires in the replay ({', '.join(t.tier for t in fired)}) but the "
                "deployed alert did not fire"
            )


def _judge(
    group: GroupResult,
    tier: Tier,
    result: TierResult,
    rate: Decimal,
    opts: Options,
    compare: bool,
) -> None:
    # A fault-injection run (--expect-fire) passes on the expected alerts alone: the other
    # tiers a fault crosses are expected too, and reported without failing the run.
    gated = not opts.expect_fire and (
        opts.gate == "ticket" or (opts.gate == "page" and tier.severity == "page")
    )
    if result.carried_in:
        judged = "judged with the window" if opts.carried_in_fails else "not judged"
        group.reasons.append(
            f"tier {tier.name} was already {result.carried_in} at the window's start (carried "
            f"in from before it: {judged})"
        )
    if result.crossed or result.fired_at is not None:
        what = "would have fired" if result.fired_at is not None else "was crossed"
        group.reasons.append(
            f"tier {tier.name} ({tier.severity}, factor {decimal_str(tier.factor)}) {what}: "
            f"the window burned {decimal_str(rate.quantize(Decimal('0.01')))}x the budget"
        )
        if gated:
            group.status = VIOLATED
    if compare and (result.actual_fired_at is not None) != result.replay_fired:
        deployed = "fired" if result.actual_fired_at is not None else "did not fire"
        replayed = "did" if result.replay_fired else "did not"
        group.reasons.append(
            f"tier {tier.name}: the deployed rules {deployed} but the replay {replayed}: "
            "the cluster may run other rules than these"
        )


def verify(client: Client, plans: list[SloPlan], opts: Options) -> Report:
    return Report(
        client.display,
        opts.window.start,
        opts.window.end,
        opts.gate,
        [verify_slo(client, p, opts) for p in plans],
    )
