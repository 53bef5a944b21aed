"""`slo-compiler verify`: the SLOs checked in a live Prometheus over a window (a load test).

Per SLO, and per group of a grouped SLO:

1. preflight: every selector has series in the window (else *inconclusive*, never a pass);
2. the objective over the window: good and bad events from the raw counters, the SLI and
   the budget burn;
3. the tier gate: which tiers' factors that burn crosses;
4. the replay: each tier's own condition, in raw-counter form, evaluated at the rule
   evaluation interval over the window with its `for` applied (replay.py);
5. the actual: the `ALERTS` series of the deployed rules over the window, and a note when
   they disagree with the replay (the cluster runs other rules than these).

Queries come from plan.ExprBuilder, the code that writes the rules. The verdict is data
(Report); rendering it is the edge's job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..burnrate import Tier, decimal_str
from ..ir import AlertRule, SloPlan
from ..plan import TOTAL_RATE, ExprBuilder
from ..promql import series
from ..sli import EventSli
from .client import Client, Labels
from .replay import Episode, chunks, episodes, grid

PASS, VIOLATED, INCONCLUSIVE = "pass", "violated", "inconclusive"
GATES = ("page", "ticket", "objective")


@dataclass
class TierResult:
    tier: str
    slo_tier: str
    factor: float
    crossed: bool  # the window's burn is above the tier's factor
    fired_at: float | None  # first firing in the replay
    actual_fired_at: float | None  # first firing of the deployed rules (None: never)


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
            "slos": [
                {
                    "service": s.service,
                    "slo": s.slo,
                    "objective_percent": s.objective,
                    "status": s.status,
                    "reasons": s.reasons,
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
    start: float
    end: float
    interval: int  # the rule evaluation interval
    gate: str = "page"
    min_events: float = 1
    expect_fire: tuple[tuple[str | None, str], ...] = ()  # (SLO or None, tier or kind)
    alerts_in_prometheus: bool = True  # the config's alert engine evaluates them there


def worst_status(statuses: list[str]) -> str:
    """Violated over inconclusive over pass; no status at all is inconclusive."""
    if not statuses:
        return INCONCLUSIVE
    return next(s for s in (VIOLATED, INCONCLUSIVE, PASS) if s in statuses)


def group_key(labels: Labels, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(labels.get(n, "") for n in names)


def by_group(
    client: Client, expr: str, at: float, names: tuple[str, ...]
) -> dict[tuple[str, ...], float]:
    return {group_key(labels, names): value for labels, value in client.query(expr, at)}


def over_window(
    client: Client, expr: str, opts: Options
) -> Iterator[tuple[Labels, list[tuple[float, float]]]]:
    """`expr` at every evaluation of the window, in chunks under the server's point limit."""
    for start, end in chunks(opts.start, opts.end, opts.interval):
        yield from client.query_range(expr, start, end, opts.interval)


def _has_series(client: Client, selector: str, window: str, at: float) -> bool:
    """Whether `selector` had any series in the `window` up to `at`."""
    found = client.query(f"count(count_over_time({selector}[{window}]))", at)
    return bool(found and found[0][1] > 0)


def replay(
    client: Client, expr: str, tier: Tier, opts: Options, names: tuple[str, ...]
) -> dict[tuple[str, ...], list[Episode]]:
    """Per group, the episodes of `expr` (a tier's condition) over the window, with the
    tier's `for` applied as Prometheus applies it (replay.py)."""
    holds: dict[tuple[str, ...], set[float]] = {}
    for labels, values in over_window(client, expr, opts):
        holds.setdefault(group_key(labels, names), set()).update(t for t, _ in values)
    times = grid(opts.start, opts.end, opts.interval)
    return {key: episodes(times, steps, tier.for_) for key, steps in holds.items()}


def _first_fire(
    client: Client, expr: str, tier: Tier, opts: Options, names: tuple[str, ...]
) -> dict[tuple[str, ...], float | None]:
    """Per group, the first firing of `expr` over the window with the tier's `for`."""
    out: dict[tuple[str, ...], float | None] = {}
    for key, found in replay(client, expr, tier, opts, names).items():
        fired = [e for e in found if e.fired]
        out[key] = fired[0].fired if fired else None
    return out


def _preflight(client: Client, plan: SloPlan, opts: Options, window: str) -> list[str]:
    assert isinstance(plan.query, EventSli)
    # No series of the errors selector is no errors (the rules read it so); no series of
    # the total, or of a good selector such as a latency bucket, is missing data.
    selectors = [s for s in (plan.query.total, plan.query.good) if s]
    return [
        f"no series of {s.render()} in the window"
        for s in selectors
        if not _has_series(client, s.render(), window, opts.end)
    ]


def _wanted(opts: Options, plan: SloPlan, tier: Tier) -> bool:
    return any(
        (slo in (None, plan.name, f"{plan.service}/{plan.name}"))
        and what in (tier.name, tier.severity)
        for slo, what in opts.expect_fire
    )


def verify_slo(client: Client, plan: SloPlan, opts: Options) -> SloResult:
    result = SloResult(plan.service, plan.name, float(plan.objective))
    if not isinstance(plan.query, EventSli):
        result.status = INCONCLUSIVE
        result.reasons.append("a raw SLI's events cannot be counted from its expression")
        return result
    seconds = max(1, int(opts.end - opts.start))  # a range selector needs a positive range
    window = f"{seconds}s"
    missing = _preflight(client, plan, opts, window)
    if missing:
        result.status, result.reasons = INCONCLUSIVE, missing
        return result
    names = plan.group_by
    build = ExprBuilder(plan.query, names, plan.selector_labels)
    totals = by_group(
        client, build.sum_rate(plan.query.total, seconds, "increase"), opts.end, names
    )
    errors = by_group(client, build.errors_over(plan.query, seconds, "increase"), opts.end, names)
    budget = plan.budget
    fires = {
        tier.name: _first_fire(client, condition(build, tier, budget), tier, opts, names)
        for tier in plan.tiers
    }
    deployed = _deployed(client, plan, opts, window)
    if not deployed:
        result.reasons.append(
            "the compiled rules are not loaded in this Prometheus (no recorded series of "
            "this SLO in the window): the replay alone says what would have fired"
        )
    elif not opts.alerts_in_prometheus:
        result.reasons.append(
            "the alerts are Grafana-managed (alert_engine): the replay says what would have fired"
        )
    actual = _actual(client, plan, opts, names) if deployed else {}
    compare = deployed and opts.alerts_in_prometheus
    for key in sorted(totals):
        group = GroupResult(dict(zip(names, key, strict=True)), totals[key], errors.get(key, 0.0))
        result.groups.append(group)
        if group.total < opts.min_events:
            group.status = INCONCLUSIVE
            group.reasons.append(
                f"{group.total:g} events, fewer than --min-events {opts.min_events:g}"
            )
            continue
        burn = Decimal(repr(group.errors / group.total)) / budget
        for tier in plan.tiers:
            fired = fires[tier.name].get(key)
            tier_result = TierResult(
                tier.name,
                tier.severity,
                float(tier.factor),
                burn > tier.factor,
                fired,
                actual.get((tier.window_label, key)),
            )
            group.tiers.append(tier_result)
            _judge(group, tier, tier_result, burn, opts, plan, compare)
        if opts.gate == "objective" and burn > 1:
            group.status = VIOLATED
            group.reasons.append(
                f"the SLI {group.sli:.6f} misses the objective ({decimal_str(burn)}x burn)"
            )
    _roll_up(result)
    return result


def condition(build: ExprBuilder, tier: Tier, budget: Decimal) -> str:
    """The tier's alert condition over the raw counters, as the rules state it."""
    factor, b = decimal_str(tier.factor), decimal_str(budget)
    long_, short = build.counter_ratio(tier.long_window), build.counter_ratio(tier.short_window)
    return f"(({long_}) / {b} > {factor})\nand\n(({short}) / {b} > {factor})"


def _actual(
    client: Client, plan: SloPlan, opts: Options, names: tuple[str, ...]
) -> dict[tuple[str, tuple[str, ...]], float]:
    """When each deployed tier alert first fired, by (slo_window, group)."""
    alert = next(r.alert for r in plan.rules if isinstance(r, AlertRule))
    selector = series(
        "ALERTS",
        {"alertname": alert, "alertstate": "firing", **plan.selector_labels},
    ).render()
    out: dict[tuple[str, tuple[str, ...]], float] = {}
    for labels, values in over_window(client, selector, opts):
        key = (labels.get("slo_window", ""), group_key(labels, names))
        out[key] = min(out.get(key, values[0][0]), values[0][0])
    return out


def _deployed(client: Client, plan: SloPlan, opts: Options, window: str) -> bool:
    """Whether this Prometheus evaluates the SLO's recording rules."""
    recorded = series(TOTAL_RATE, plan.selector_labels).render()
    return _has_series(client, recorded, window, opts.end)


def _judge(
    group: GroupResult,
    tier: Tier,
    result: TierResult,
    burn: Decimal,
    opts: Options,
    plan: SloPlan,
    compare: bool,
) -> None:
    # A fault-injection run (--expect-fire) passes on the expected alerts alone: the other
    # tiers a fault crosses are expected too, and reported without failing the run.
    gated = not opts.expect_fire and (
        opts.gate == "ticket" or (opts.gate == "page" and tier.severity == "page")
    )
    if _wanted(opts, plan, tier):
        if result.fired_at is None:
            group.status = VIOLATED
            group.reasons.append(f"tier {tier.name} was expected to fire and did not")
        elif compare and result.actual_fired_at is None:
            group.status = VIOLATED
            group.reasons.append(
                f"tier {tier.name} fires in the replay but the deployed alert did not fire"
            )
        return
    if result.crossed or result.fired_at is not None:
        what = "would have fired" if result.fired_at is not None else "was crossed"
        group.reasons.append(
            f"tier {tier.name} ({tier.severity}, factor {decimal_str(tier.factor)}) {what}: "
            f"the window burned {decimal_str(burn.quantize(Decimal('0.01')))}x the budget"
        )
        if gated:
            group.status = VIOLATED
    if compare and (result.actual_fired_at is not None) != (result.fired_at is not None):
        deployed = "fired" if result.actual_fired_at is not None else "did not fire"
        replayed = "did" if result.fired_at is not None else "did not"
        group.reasons.append(
            f"tier {tier.name}: the deployed rules {deployed} but the replay {replayed}: "
            "the cluster may run other rules than these"
        )


def _roll_up(result: SloResult) -> None:
    if not result.groups:
        result.reasons.append("no events counted in the window")
    result.status = worst_status([g.status for g in result.groups])


def verify(client: Client, plans: list[SloPlan], opts: Options) -> Report:
    return Report(
        client.url, opts.start, opts.end, opts.gate, [verify_slo(client, p, opts) for p in plans]
    )
