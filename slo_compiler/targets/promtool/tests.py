"""promtool unit tests for every alert we generate: prometheus/tests/<file>.test.yaml, and
<file>.every-<interval>.test.yaml for the tiers tested at a coarser interval (tier_clock).

For each SLO with an event SLI, from its own selectors and the planned tiers:

* step: healthy traffic for one long window, then a burn of 1.1x a tier's factor; the tier
  is quiet clearly before the predicted time and firing at it;
* steady: a burn of 0.9x a tier's factor from the start; that tier never fires;
* idle: series present, no events; no alert, and every recorded ratio is 0 (not NaN);
* absent: no series at all; the SLI-missing alert fires after its `for`;
* scraped less often: the series sampled at twice the declared scrape interval; the
  scrape-interval alert fires after its `for` (quiet in every other scenario);
* groups (grouped SLOs): one group in a total outage, another healthy; only the first alerts.

Times and `$value`s come from `simulate`, a closed-form model of our rules; promtool then
checks that model against the real rules. Raw SLIs are opaque: only their SLI-missing alert
is exercised. Counters step by whole numbers of events, so the expanding notation stays
exact (a fractional step accumulates rounding error that reads as a counter reset).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ...base.durations import format_duration as dur
from ...base.templates import render as render_template
from ...emit.text import yaml_file
from ...emit.tree import Content, Deferred
from ...rules.burnrate import (
    BASE_RATE_WINDOW,
    SLICE,
    Tier,
    decimal_str,
    detection,
    reach,
    scrape_span,
)
from ...rules.explain import human
from ...rules.ir import AlertRule, Labels, SloPlan, SourcePlan
from ...rules.plan import SCRAPE_CHECK, SLI_MISSING, ratio_metric
from ...rules.promql import Selector
from ...rules.promql import series as selector
from ...rules.sli import EventSli
from ...source.config import Config
from .. import Files, Folder, Kind, Output, Target
from ..prometheus import FOLDER as RULES_FOLDER
from ..prometheus import group_name, interval_group_names, rule_file_path, rule_groups
from .simulate import Clock, GroupModel, Tie, Traffic, burn_if_firing, first_firing
from .synth import group_values, series_for

FOLDER = f"{RULES_FOLDER}/tests"
ABOVE = Fraction(11, 10)
BELOW = Fraction(9, 10)
# Events per input sample and group; scaled up for tiny budgets so 0.9x a factor is still
# at least a few bad events per sample.
BASE_EVENTS = 100_000
MAX_NUDGES = 50


def test_file_path(plan: SourcePlan, step: int | None = None) -> str:
    """`<stem>.test.yaml` for the finest evaluation interval of the file's tests, and
    `<stem>.every-<step>.test.yaml` for each coarser one (promtool sets one interval per file)."""
    suffix = "" if step is None else f".every-{dur(step)}"
    return f"{FOLDER}/{plan.stem}{suffix}.test.yaml"


def _ceil(seconds: int, step: int) -> int:
    return -(-seconds // step) * step


def tier_clock(tier: Tier, floor: int = 60) -> Clock:
    """Evaluate a tier's scenarios twice per `for` (a tenth of the short window without one),
    in whole minutes (inputs sampled as _Slo says): the alert is pending for one evaluation
    before it fires, which the step scenario checks.

    promtool evaluates every rule at every step, and the long windows read more samples the
    longer a test runs: cost grows with the square of the evaluations. A slow tier's
    scenarios span days, and at one evaluation a minute they took most of a minute each;
    stepping in proportion to the tier keeps every tier at a few hundred evaluations (and
    promtool's cost per evaluation is mostly per rule, not per sample). The step need not
    divide the windows or `for`: the model counts what Prometheus does at whatever
    interval it runs (a `for` ends at the first evaluation past it). `floor`: see
    `step_floor`."""
    span = tier.for_ // 2 if tier.for_ else tier.short_window // 10
    return Clock(sample=60, step=max(floor, span - span % 60))


# promtool's query engine refuses a query that would load more samples than this.
PROMTOOL_MAX_SAMPLES = 10_000
# A subquery without a resolution (`[30d:]`) steps at the evaluation interval.
_DEFAULT_RESOLUTION_SUBQUERY = re.compile(r"\[[^\]:]*:\s*\]")


def step_floor(slos: tuple[SloPlan, ...]) -> int:
    """The finest evaluation interval at which every rule of the file can run in promtool:
    a raw SLI with a subquery at the default resolution reads period / interval points
    (30d at one a minute: 43,200, over promtool's limit), so such a file is evaluated
    coarsely enough for its longest period (5m for 30d)."""
    periods = [
        slo.period for slo in slos if _DEFAULT_RESOLUTION_SUBQUERY.search(slo.query.written or "")
    ]
    if not periods:
        return 60
    return _ceil(-(-max(periods) // PROMTOOL_MAX_SAMPLES), 60)


def base_clock(slos: tuple[SloPlan, ...]) -> Clock:
    """The clock of the scenarios that are not about one tier (no traffic, a missing SLI,
    one group in an outage): the finest of the file's tier clocks (every minute, unless the
    step floor is coarser)."""
    floor = step_floor(slos)
    return min(
        (tier_clock(t, floor) for slo in slos for t in slo.tiers),
        key=lambda c: c.step,
        default=Clock(sample=60, step=floor),
    )


@dataclass
class _Scenario:
    name: str
    traffic: list[tuple[dict[str, str], Traffic]]
    end: int
    alert_checks: list[int] = field(default_factory=list)
    zero_ratio_at: int | None = None
    expected: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Shape:
    """What a tier's scenarios depend on besides the SLO's names and selectors: the clock,
    the budget and the tiers. SLOs of one shape (a fleet of 99.9% 30d availability SLOs)
    share their traffic, times and expected `$value`s, built once (`_shaped`)."""

    clock: Clock
    budget: Fraction
    tiers: tuple[Tier, ...]

    @property
    def events(self) -> int:
        return BASE_EVENTS * max(1, math.ceil(Fraction(1, 100) / self.budget))

    def first_fire(self, traffic: Traffic, tier: Tier, until: int) -> int | None:
        return first_firing(traffic, self.clock, tier, self.budget, until)

    def _bad(self, factor: Decimal, share: Fraction, nudge: int) -> int:
        exact = Fraction(factor) * self.budget * share * self.events
        bad = (math.ceil(exact) + nudge) if share > 1 else (math.floor(exact) - nudge)
        return max(0, min(self.events, bad))

    # Each scenario of one tier, one group: (title, traffic, end, checks), or None.
    def step(self, tier: Tier, nudge: int) -> _Shaped:
        step = self.clock.step
        start = _ceil(tier.long_window, step)
        bad = self._bad(tier.factor, ABOVE, nudge)
        traffic = Traffic.step(self.events, 0, bad, start)
        horizon = start + 2 * (tier.long_window + tier.for_ + BASE_RATE_WINDOW)
        fire = self.first_fire(traffic, tier, horizon)
        if fire is None:
            raise AssertionError(f"tier {tier.name} never fires on a step")
        burn = Fraction(bad, self.events) / self.budget
        predicted = detection(
            tier,
            Decimal(burn.numerator) / Decimal(burn.denominator),
            self.clock.step,
            in_promtool=True,
            slices=self.clock.slices,
        )
        assert predicted.fires is not None
        quiet = max(start, fire - step * max(2, (fire - start) // step // 5))
        return _Shaped(
            f"{tier.name} fires on a step to a {float(burn):.4g}x burn "
            f"({decimal_str(ABOVE_DEC)}x its factor) at {dur(start)}: the model predicts "
            f"{human(predicted.fires)} after the step, the rules fire at "
            f"{dur(fire - start)}; quiet at {dur(quiet - start)}",
            traffic,
            end=fire,
            # One evaluation before: not firing yet (pending while `for` runs), so `for` is
            # checked as well as the windows.
            checks=tuple(sorted({start, quiet, fire - step, fire})),
        )

    def steady(self, tier: Tier, nudge: int) -> _Shaped:
        bad = self._bad(tier.factor, BELOW, nudge)
        traffic = Traffic.steady(self.events, bad)
        end = _ceil(tier.long_window + tier.for_ + BASE_RATE_WINDOW, self.clock.step)
        if self.first_fire(traffic, tier, end) is not None:
            raise AssertionError(f"tier {tier.name} fires below its factor")
        burn = Fraction(bad, self.events) / self.budget
        return _Shaped(
            f"{tier.name} stays quiet on a steady {float(burn):.4g}x burn "
            f"({decimal_str(BELOW_DEC)}x its factor)",
            traffic,
            end=end,
            checks=(_ceil(end // 2, self.clock.step), end),
        )

    def recovery(self, tier: Tier, nudge: int) -> _Shaped | None:
        """A burn of 3x the factor (at most a total outage) from the start, long enough to
        fire, then none: one short window later the tier must be quiet while its long window
        still holds the burn. That is what the short window is for; without it the alert
        would go on firing (None if the long window cannot still be burning then)."""
        step = self.clock.step
        threshold = Fraction(tier.factor) * self.budget
        bad = min(self.events, math.ceil(3 * threshold * self.events) + nudge)
        margin = threshold * Fraction(11, 10)
        error_ratio = Fraction(bad, self.events)
        if error_ratio <= margin:
            return None
        # The short window empties once the slice at its old end has passed too.
        clears = _ceil(reach(tier.short_window, step, self.clock.slices), step) + step
        # The windows fill with the burn as the slices are recorded (slower at longer
        # fine slices: 2m at a 1m scrape): within a short window and two coarse slices.
        horizon = tier.for_ + _ceil(tier.short_window + 2 * SLICE, step) + 2 * step
        fire = self.first_fire(Traffic.steady(self.events, bad), tier, horizon)
        if fire is None:
            raise AssertionError(f"tier {tier.name} never fires on a 3x burn")
        ends = _ceil(
            max(fire, 2 * clears, math.ceil(margin * clears / (error_ratio - margin))), step
        )
        traffic = Traffic(self.events, ((0, bad), (ends, 0)))
        if GroupModel(traffic, self.clock).ratio(ends + clears, tier.long_window) <= margin:
            return None
        return _Shaped(
            f"{tier.name} stops within {dur(clears)} of a "
            f"{float(error_ratio / self.budget):.4g}x burn ending at {dur(ends)}, while its "
            f"{dur(tier.long_window)} window still burns",
            traffic,
            end=ends + clears,
            checks=(ends, ends + clears),
        )


@dataclass(frozen=True)
class _Shaped:
    title: str
    traffic: Traffic
    end: int
    checks: tuple[int, ...]


Firing = tuple[tuple[Tier, float], ...]  # the tiers firing at a check, with their `$value`s


@lru_cache(maxsize=1 << 10)
def _shaped(
    shape: _Shape, kind: str, tier: Tier
) -> tuple[_Shaped, tuple[tuple[int, Firing], ...]] | None:
    """A tier's scenario of one kind (step, steady, recovery) and what fires at each of
    its checks, nudging its bad events by one until no ratio or `$value` sits on a tie
    that floats could break either way (None: that scenario does not apply)."""
    build = getattr(shape, kind)
    for nudge in range(MAX_NUDGES):
        try:
            shaped = build(tier, nudge)
            if shaped is None:
                return None
            return shaped, tuple((t, _firing(shaped.traffic, shape, t)) for t in shaped.checks)
        except Tie:
            continue
    raise AssertionError(f"no tie-free traffic for {kind} of tier {tier.name}")


class _Slo:
    """One SLO's alerts, traffic models and expected alerts."""

    def __init__(self, plan: SloPlan, clock: Clock) -> None:
        self.plan = plan
        if plan.slices is not None:
            # Inputs sampled at the scrape interval, or a divisor of it that falls on the
            # minute and on the instants a fine slice reads (the model counts samples on
            # that grid).
            sample = math.gcd(plan.slices.scrape, 60, plan.slices.delay)
            clock = dataclasses.replace(clock, sample=sample, slices=plan.slices)
        self.clock = clock
        self.shape = _Shape(clock, Fraction(plan.budget), plan.tiers)
        alerts = [r for r in plan.rules if isinstance(r, AlertRule)]
        self.burn_rules = {r.tier.name: r for r in alerts if r.tier is not None}
        missing = plan.check(SLI_MISSING)
        assert missing is not None  # every SLO has one
        self.missing_rule = missing
        self.scrape_rule = plan.check(SCRAPE_CHECK)

    # -- expected alerts ------------------------------------------------------------------
    def expect(self, scenario: _Scenario) -> _Scenario:
        """The scenario with the alerts firing at each of its checks (raises Tie)."""
        scenario.expected = {t: self.firing(scenario, t) for t in scenario.alert_checks}
        return scenario

    def firing(self, scenario: _Scenario, t: int) -> list[dict[str, Any]]:
        """Alerts of the burn alert name firing at t, as promtool lists them."""
        out = []
        for group, traffic in scenario.traffic:
            out += self._alerts(group, _firing(traffic, self.shape, t))
        return out

    def _alerts(self, group: dict[str, str], firing: Firing) -> list[dict[str, Any]]:
        labels = (*self.plan.series_labels, *group.items())
        return [_expected_alert(self.burn_rules[tier.name], labels, v) for tier, v in firing]

    # -- scenarios ---------------------------------------------------------------------------
    def scenario(self, kind: str, tier: Tier, group: dict[str, str]) -> _Scenario | None:
        """A tier's scenario of one kind on this SLO's series (of `group`)."""
        found = _shaped(self.shape, kind, tier)
        if found is None:
            return None
        shaped, firing = found
        return _Scenario(
            f"{self.plan.name}: {shaped.title}",
            [(group, shaped.traffic)],
            end=shaped.end,
            alert_checks=list(shaped.checks),
            expected={t: self._alerts(group, fires) for t, fires in firing},
        )

    def idle(self, groups: list[dict[str, str]]) -> _Scenario:
        end = _ceil(3600, self.clock.step)
        return _Scenario(
            f"{self.plan.name}: no traffic is not an outage (ratios 0, no alert)",
            [(g, Traffic.steady(0, 0)) for g in groups],
            end=end,
            alert_checks=[end],
            zero_ratio_at=end,
        )

    def outage_in_one_group(self, groups: list[dict[str, str]]) -> _Scenario:
        events = self.shape.events
        burning = Traffic.steady(events, events)
        healthy = Traffic.steady(events, 0)
        horizon = max(t.for_ for t in self.plan.tiers) + 2 * self.clock.step
        fires = [self.shape.first_fire(burning, t, horizon) for t in self.plan.tiers]
        end = max(f for f in fires if f is not None)
        return _Scenario(
            f"{self.plan.name}: a total outage of {_show(groups[0])} alerts only that group, "
            f"not {_show(groups[1])}",
            [(groups[0], burning), (groups[1], healthy)],
            end=end,
            alert_checks=[end],
        )


ABOVE_DEC = Decimal(ABOVE.numerator) / ABOVE.denominator
BELOW_DEC = Decimal(BELOW.numerator) / BELOW.denominator


@lru_cache(maxsize=1 << 12)
def _firing(traffic: Traffic, shape: _Shape, t: int) -> Firing:
    """The tiers firing at t and their `$value`s (raises Tie): the same for every SLO of
    one shape, so computed once per shape and check."""
    out = []
    for tier in shape.tiers:
        value = burn_if_firing(traffic, shape.clock, tier, shape.budget, t)
        if value is None:
            continue
        tenths = value * 10 - math.floor(value * 10)
        if abs(tenths - Fraction(1, 2)) < Fraction(1, 10**9):
            raise Tie(f"$value {float(value)} rounds either way")
        out.append((tier, float(value)))
    return tuple(out)


@lru_cache(maxsize=1 << 8)  # an alert at one `$value` seldom recurs (labels are cached apart)
def _expected_alert(rule: AlertRule, series_labels: Labels, value: float) -> dict[str, Any]:
    """An alert as promtool lists it: the labels of its expression's series and its own,
    templates expanded. Cached (and shared: the YAML writer never writes aliases, and
    writes a shared object once): the same alert recurs across an SLO's checks, its
    labels at every `$value`."""
    expr_labels = dict(series_labels)
    return {
        "exp_labels": _expected_labels(rule, series_labels),
        "exp_annotations": {k: render_template(v, expr_labels, value) for k, v in rule.annotations},
    }


@lru_cache(maxsize=1 << 12)
def _expected_labels(rule: AlertRule, series_labels: Labels) -> dict[str, str]:
    """An alert's labels: its series' and its own, expanded. Planning writes every label
    value as a literal (templates.literal), so none depends on `$value`."""
    expr_labels = dict(series_labels)
    return {**expr_labels, **{k: render_template(v, expr_labels, 0.0) for k, v in rule.labels}}


@lru_cache(maxsize=1 << 12)
def _synthesised(sli: EventSli, group: Labels) -> tuple[tuple[str, int, int], ...]:
    """The input series of one group (notation, share of all events, of bad events):
    the same for every scenario of an SLO, so synthesised once."""
    found = series_for(sli, dict(group))
    assert found is not None
    return tuple((s.notation(), s.total, s.errors) for s in found)


def _show(group: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _notation(phases: list[tuple[int, int]], end: int, sample: int) -> str:
    """Expanding notation of a counter from 0 at time 0 to `end`, growing per sample by
    the amount of the phase it is in: `0+a x n`, then `v+b x m` from the next sample on."""
    parts: list[str] = []
    value = done = 0  # the counter at the last sample written, and that sample's index
    last = end // sample
    stops = [start // sample for start, _ in phases[1:]] + [last]
    for (_, per_sample), stop in zip(phases, stops, strict=True):
        stop = min(stop, last)
        if not parts:
            parts.append(f"0+{per_sample}x{stop}")
        elif stop > done:
            parts.append(f"{value + per_sample}+{per_sample}x{stop - done - 1}")
        value += per_sample * (stop - done)
        done = max(done, stop)
    return " ".join(parts)


def _input_series(
    slo: _Slo, scenario: _Scenario, sample: int | None = None
) -> list[dict[str, str]]:
    """The scenario's counters, sampled as the SLO's clock says (or every `sample`)."""
    counters = slo.plan.counters
    assert counters is not None, "scenarios exist only for counted SLIs (_groups)"
    every = sample or slo.clock.sample
    out = []
    for group, traffic in scenario.traffic:
        for notation, total, errors in _synthesised(counters, tuple(group.items())):
            phases = [
                (start, total * traffic.total + errors * bad) for start, bad in traffic.errors
            ]
            out.append({"series": notation, "values": _notation(phases, scenario.end, every)})
    return out


def _test_group(slo: _Slo, scenario: _Scenario) -> dict[str, Any]:
    plan = slo.plan
    checks: list[dict[str, Any]] = [
        {"eval_time": dur(t), "alertname": plan.alert_name, "exp_alerts": alerts}
        for t, alerts in scenario.expected.items()
    ]
    checks += [
        {"eval_time": dur(scenario.end), "alertname": rule.alert, "exp_alerts": []}
        for rule in (slo.missing_rule, slo.scrape_rule)
        if rule is not None
    ]
    group: dict[str, Any] = {
        "name": scenario.name,
        "interval": dur(slo.clock.sample),
        "input_series": _input_series(slo, scenario),
        "alert_rule_test": checks,
    }
    if scenario.zero_ratio_at is not None:
        group["promql_expr_test"] = [
            {
                "expr": selector(ratio_metric(w), plan.selector_labels).render(),
                "eval_time": dur(scenario.zero_ratio_at),
                "exp_samples": [
                    {
                        "labels": selector(
                            ratio_metric(w), {**dict(plan.series_labels), **g}
                        ).render(),
                        "value": 0,
                    }
                    for g, _ in scenario.traffic
                ],
            }
            for w in plan.windows
        ]
    return group


def absent_labels(read: Selector) -> Labels:
    """The labels absent() gives its one series, as Prometheus builds them: each label
    matched by exactly one equality matcher (an empty value is no label); a label with
    any other matcher has none."""
    names = [m.name for m in read.matchers]
    return tuple(
        (m.name, m.value)
        for m in read.matchers
        if m.op == "=" and m.value and names.count(m.name) == 1 and m.name != "__name__"
    )


def _absent(slo: _Slo) -> dict[str, Any]:
    rule = slo.missing_rule
    fires = _ceil(rule.for_, slo.clock.step)
    plan = slo.plan
    if plan.counters is not None:
        # `absent(a) or absent(b)`: one series per distinct label set, the first kept.
        found = dict.fromkeys(absent_labels(s) for s in plan.counters.presence())
    else:
        found = {tuple(plan.selector_labels.items()): None}
    return {
        "name": f"{plan.name}: the SLI-missing alert fires {dur(rule.for_)} after the "
        "SLI's series are gone",
        "interval": dur(slo.clock.sample),
        "input_series": [
            {"series": 'up{job="unrelated"}', "values": f"1x{fires // slo.clock.sample}"}
        ],
        "alert_rule_test": [
            {"eval_time": dur(fires - slo.clock.step), "alertname": rule.alert, "exp_alerts": []},
            {
                "eval_time": dur(fires),
                "alertname": rule.alert,
                "exp_alerts": [_expected_alert(rule, labels, 0.0) for labels in found],
            },
        ],
    }


def _scraped_slower(slo: _Slo, groups: list[dict[str, str]]) -> dict[str, Any] | None:
    """The SLI's series sampled at twice the declared scrape interval, idle: the
    scrape-interval alert holds from the first evaluation (a range of few samples reads
    as long intervals too) and fires after its `for`, showing the interval it measured
    (the span of its range over the samples in it, both ends included)."""
    rule, plan = slo.scrape_rule, slo.plan
    if rule is None or plan.slices is None:
        return None
    sample, step = 2 * plan.slices.scrape, slo.clock.step
    fires = _ceil(rule.for_, step)
    span = scrape_span(plan.slices.scrape)
    count = fires // sample - max(0, -(-(fires - span) // sample)) + 1
    scenario = _Scenario(
        f"{plan.name}: the scrape-interval alert fires {dur(rule.for_)} after the SLI's "
        f"series are scraped every {dur(sample)}, not {dur(plan.slices.scrape)}",
        [(g, Traffic.steady(slo.shape.events, 0)) for g in groups],
        end=fires,
    )
    return {
        "name": scenario.name,
        "interval": dur(sample),
        "input_series": _input_series(slo, scenario, sample),
        "alert_rule_test": [
            {"eval_time": dur(fires - step), "alertname": rule.alert, "exp_alerts": []},
            {
                "eval_time": dur(fires),
                "alertname": rule.alert,
                "exp_alerts": [_expected_alert(rule, plan.series_labels, span / count)],
            },
        ],
    }


def _groups(plan: SloPlan) -> tuple[list[dict[str, str]] | None, dict[str, str]] | None:
    """The grouping values an SLO's scenarios use (None without grouping) and the first
    group; None if its series cannot be synthesised (a raw SLI, defeating selectors)."""
    counters = plan.counters
    if counters is None:
        return None
    groups = group_values(counters, plan.group_by, 2) if plan.group_by else None
    first = groups[0] if groups else {}
    return None if series_for(counters, first) is None else (groups, first)


def test_steps(plan: SourcePlan) -> list[int]:
    """The evaluation intervals of a rule file's test files, finest first: the base
    clock's, and each tier's where its SLO has scenarios (every tier then has some)."""
    floor = step_floor(plan.slos)
    steps = {base_clock(plan.slos).step}
    for slo in plan.slos:
        if _groups(slo) is not None:
            steps |= {tier_clock(tier, floor).step for tier in slo.tiers}
    return sorted(steps)


def _scenarios(plan: SloPlan, base: Clock, floor: int) -> list[tuple[_Slo, _Scenario]]:
    """Every scenario of an event SLI whose series we can synthesise (none otherwise), each
    with the `_Slo` (and so the clock) it was built on: a tier's own, or `base`."""
    synthesised = _groups(plan)
    if synthesised is None:
        return []
    groups, first = synthesised
    out = []
    for tier in plan.tiers:
        slo = _Slo(plan, tier_clock(tier, floor))
        for kind in ("step", "steady", "recovery"):
            scenario = slo.scenario(kind, tier, first)
            if scenario is not None:
                out.append((slo, scenario))
    slo = _Slo(plan, base)
    # Ratios of 0 and 1 cannot tie with a threshold strictly between them.
    out.append((slo, slo.expect(slo.idle(groups or [first]))))
    if groups and plan.tiers:
        out.append((slo, slo.expect(slo.outage_in_one_group(groups))))
    return out


def alerts_file_path(plan: SourcePlan) -> str:
    return f"{FOLDER}/{plan.stem}.alerts.yaml"


def test_documents(plan: SourcePlan, alerts_apart: bool) -> dict[str, dict[str, Any]]:
    """The test files of one rule file, one per evaluation interval its scenarios need.
    With `alerts_apart` (Grafana evaluates the alerts) the rule file holds only recording
    rules, and the alerts it would hold are tested from a file of their own, evaluated
    after the recording rules as in one group."""
    base, floor = base_clock(plan.slos), step_floor(plan.slos)
    by_step: dict[int, list[dict[str, Any]]] = {step: [] for step in test_steps(plan)}
    for slo_plan in plan.slos:
        for slo, scenario in _scenarios(slo_plan, base, floor):
            by_step[slo.clock.step].append(_test_group(slo, scenario))
        by_step[base.step].append(_absent(_Slo(slo_plan, base)))
        synthesised = _groups(slo_plan)
        slower = synthesised and _scraped_slower(_Slo(slo_plan, base), [synthesised[1]])
        if slower:
            by_step[base.step].append(slower)
    rule_files = [f"../{rule_file_path(plan).rsplit('/', 1)[1]}"]
    # promtool runs every group at each step, in this order (unlisted groups in any
    # order): the fine slices, then the coarse ones and the windows summed from them, as
    # the model assumes, then what the alerts read, then the alerts when apart.
    order = [
        *(name for s in plan.slos for name in interval_group_names(s)),
        *(s.group_name for s in plan.slos),
    ]
    if alerts_apart:
        rule_files.append(alerts_file_path(plan).rsplit("/", 1)[1])
        order += [group_name(s.group_name, alerts=True, recording=False) for s in plan.slos]
    return {
        test_file_path(plan, None if step == base.step else step): {
            "rule_files": rule_files,
            "evaluation_interval": dur(step),
            "group_eval_order": order,
            "tests": tests,
        }
        for step, tests in sorted(by_step.items())
    }


def _rendered(plan: SourcePlan, alerts_apart: bool) -> dict[str, bytes]:
    """The test files of one rule file, and the alerts they load when apart, as bytes:
    rendered together when the writer reads them (tree.Deferred)."""
    files = {
        path: yaml_file([plan.source], doc)
        for path, doc in test_documents(plan, alerts_apart).items()
    }
    if alerts_apart:
        alerts = rule_groups(plan, alerts=True, recording=False)
        files[alerts_file_path(plan)] = yaml_file([plan.source], alerts)
    return files


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred test files (tree.py): rendered when the writer reads them."""
    alerts_apart = not config.prometheus_alerts
    files: dict[str, Content] = {}
    for plan in (unit for p in plans for unit in p.per_slo()):
        steps = test_steps(plan)
        for step in steps:
            path = test_file_path(plan, None if step == steps[0] else step)
            files[path] = Deferred(_rendered, (plan, alerts_apart), path)
        if alerts_apart:
            path = alerts_file_path(plan)
            files[path] = Deferred(_rendered, (plan, alerts_apart), path)
    return Output(files)


TARGET = Target(
    render,
    folders=(
        Folder(
            "prometheus/tests",
            "promtool unit tests proving every alert fires when it should and stays quiet "
            "when it should (plus the alerts as rules, when Grafana evaluates them).",
            "`cd prometheus/tests && promtool test rules *.test.yaml`",
        ),
    ),
    kinds=(Kind("prometheus/tests/", ".test.yaml", "promtool test file"),),
)
