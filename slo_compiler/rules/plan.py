"""Planning: a checked SLO -> its recording rules, metadata series and alerts (the IR).

Pure: no I/O, and the same input always gives the same rules in the same order. Rules of
one SLO are in dependency order, because Prometheus evaluates a group's rules one after
another at the same timestamp: the windows and alerts see the base rates recorded a
moment earlier, never a stale interval. Rules with an interval (`every`) form the SLO's
slow group, which reads only the counters and itself.

Expressions built here (R = window, G = group_by):

* fine slices (event SLIs): `slo:sli_total:rate30s` and `slo:sli_errors:rate30s`, the
  rate of each 30s (`burnrate.Slices`: longer for a service scraped less often than every
  15s), in a group of their own evaluated every 30s: tiles that cover time once, the
  range one scrape longer than the slice so that consecutive slices see every interval
  between scrapes once; the only rules that read the raw counters (errors absent means no
  errors, not no data: `... or 0 * <the total just recorded>`);
* base rates: `slo:sli_total:rate5m` and `slo:sli_errors:rate5m`, the mean of the fine
  slices over 5m (the shortest window, the current burn, the SLI-missing alert);
* coarse slices: `slo:sli_total:rate4m` and `slo:sli_errors:rate4m`, the mean of the fine
  slices over 4m, in a group of their own evaluated every 4m (`burnrate.SLICE`);
* `slo:sli_error:ratio_rate<R>`: `sum_over_time` of the fine slices for windows under 12h
  (at every evaluation), of the coarse slices for longer ones (in their group), as
  `errors / clamp_min(total, 1e-12)`: event-weighted, no traffic gives 0, never NaN; what
  a window reads grows with the SLI's groups, not with its raw series;
* metadata: objective, error budget, current burn rate, budget remaining over the period
  (the period's ratio and the budget left every 4m, for raw SLIs too);
* one alert per tier (both windows must burn), one SLI-missing alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from ..base import templates
from ..base.durations import format_duration as dur
from ..base.durations import parse_duration
from ..base.tiers import SEVERITY_DEFAULTS
from ..source.model import Slo
from . import burnrate
from .burnrate import (
    BASE_RATE_WINDOW,
    SLICE,
    Slices,
    Tier,
    decimal_str,
    is_recorded,
    slices_for,
)
from .ir import AlertRule, Labels, Origin, RecordingRule, Rule, SloPlan
from .promql import Selector, series
from .sli import EventSli, SliKind

TOTAL_RATE = "slo:sli_total:rate" + dur(BASE_RATE_WINDOW)
ERRORS_RATE = "slo:sli_errors:rate" + dur(BASE_RATE_WINDOW)
SLICE_TOTAL = "slo:sli_total:rate" + dur(SLICE)
SLICE_ERRORS = "slo:sli_errors:rate" + dur(SLICE)
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
SCRAPE_INTERVAL = "slo:sli_scrape_interval:seconds"
SLI_MISSING = "sli-missing"
SCRAPE_CHECK = "scrape-interval"
# Below any non-zero sum of recorded event rates (at least 1/300 per second).
RATIO_EPSILON = "1e-12"


def ratio_metric(window: int) -> str:
    return f"slo:sli_error:ratio_rate{dur(window)}"


class ExprBuilder:
    """Expression text for one SLO; holds what every expression of it shares. The live
    checks (slo_compiler.live) build their raw-counter queries here too, so what they
    query is by construction what the rules compute. `slices`: what its windows sum."""

    def __init__(
        self,
        query: SliKind,
        group_by: tuple[str, ...],
        selector_labels: dict[str, str],
        slices: Slices = burnrate.DEFAULT_SLICES,
    ):
        self.query = query
        self.group_by = group_by
        self.labels = selector_labels
        self.slices = slices
        self.fine_total = "slo:sli_total:rate" + dur(slices.fine)
        self.fine_errors = "slo:sli_errors:rate" + dur(slices.fine)
        self._recorded: dict[str, str] = {}

    def _sum(self, inner: str) -> str:
        by = f" by ({', '.join(self.group_by)}) " if self.group_by else ""
        return f"sum{by}({inner})"

    def sum_rate(self, selector: Selector, window: int, func: str = "rate") -> str:
        """`sum by (…) (rate(selector[window]))`; `func` "increase" counts the events
        instead (the live checks: MetricsQL's rate divides by the time that had samples,
        so rate x window overcounts a window that starts before the data; increase does
        not, in either engine)."""
        return self._sum(f"{func}({selector.render()}[{dur(window)}])")

    def sum_slice(self, selector: Selector) -> str:
        """The fine slice of a counter as a rate: its increase from `reads` to `delay`
        before the evaluation (a reset, where the later value is the lower: the later
        value, as rate() assumes a restart from 0; a series not there at both instants:
        none, as rate() counts nothing before a series' first sample), over the slice's
        length. Two instant reads per series whatever the scrape interval: consecutive
        slices telescope, every increase between two scrapes in exactly one of them."""
        text = selector.render()
        now, before = (
            f"{text} offset {dur(self.slices.delay)}",
            f"{text} offset {dur(self.slices.reads)}",
        )
        inner = f"{now} - {before} >= 0\nor {now} < {before}"
        return f"{self._sum(inner)} / {self.slices.fine}"

    def sum_counted(self, selector: Selector, span: float) -> str:
        """A counter's events from its last samples at or before `span` ago to its last
        ones now, per group: their difference; a series not there `span` ago counted from
        0 (request counters are created on their first event, by prometheus_client's
        labelled children and Micrometer's timers alike, so their first sample holds
        events that rate() and increase() never count); one that reset, or ended, by
        increase(). Exact at scrape resolution where increase() extrapolates: what a load
        test's gate counts."""
        # In milliseconds: a sample on the span's start is read as at or before it.
        text, span_text = selector.render(), f"{max(1, round(span * 1000))}ms"
        before = f"{text} offset {span_text}"
        inner = (
            f"{text} - {before} >= 0\nor ({text} unless {before})\nor increase({text}[{span_text}])"
        )
        return self._sum(inner)

    def counted(self, sli: EventSli, span: float) -> tuple[str, str]:
        """(all events, bad events) over the last `span` by sum_counted."""
        return self.sum_counted(sli.total, span), self._bad(
            sli, lambda s: self.sum_counted(s, span)
        )

    def recorded(self, metric: str) -> str:
        """The selector of one of this SLO's recorded series (each rendered once: an SLO's
        rules name them two dozen times)."""
        if metric not in self._recorded:
            self._recorded[metric] = series(metric, self.labels).render()
        return self._recorded[metric]

    def sum_recorded(self, metric: str) -> str:
        """A recorded metric summed to the SLI's groups, labels as a window's sum has
        them: what `or` can stand in with where a window's own series are missing."""
        return self._sum(self.recorded(metric))

    @staticmethod
    def safe_ratio(errors: str, total: str, present: str) -> str:
        """errors / total, 0 where total is 0 (idle is not an outage), never NaN; and 0
        where the errors' series are missing (no request has ever failed): wherever
        `present` (the total, or a cheaper series of the same groups) has a value."""
        return f"{errors}\n/ ({total} > 0)\nor 0 * {present}"

    @staticmethod
    def recorded_ratio(errors: str, total: str) -> str:
        """errors / total over the recorded event rates, reading each once. The recorded
        errors exist wherever the total does, and a total is either 0 (then so are the
        errors: 0 / epsilon is 0, not NaN) or at least one event per base window, far
        above epsilon. The safe_ratio form reads the total twice, a third of the cost of
        the long windows (bench/RESULTS.md)."""
        return f"{errors}\n/ clamp_min({total}, {RATIO_EPSILON})"

    def errors_over(self, sli: EventSli, window: int, func: str = "rate") -> str:
        """The bad events' rate (or increase) over `window`."""
        return self._bad(sli, lambda s: self.sum_rate(s, window, func))

    @staticmethod
    def _bad(sli: EventSli, summed: Callable[[Selector], str]) -> str:
        """The bad events, by the SLI's errors, or as total - good: good events absent
        while total is not means every event was bad."""
        if sli.errors is not None:
            return summed(sli.errors)
        assert sli.good is not None
        total = summed(sli.total)
        return f"clamp_min({total} - ({summed(sli.good)} or 0 * {total}), 0)"

    def _over(self, metric: str, window: int) -> str:
        return f"sum_over_time({self.recorded(metric)}[{dur(window)}])"

    def ratio(self, window: int) -> str:
        """The error ratio over `window`, as the SLI's kind states it."""
        return self.query.ratio(self, window)

    def window_ratio(self, window: int) -> str:
        """The recorded ratio of one of the SLO's windows."""
        return self.recorded(ratio_metric(window))

    def event_ratio(self, window: int) -> str:
        """An event SLI's ratio over `window`: sums of its recorded slices."""
        if window == BASE_RATE_WINDOW:
            return self.recorded_ratio(self.recorded(ERRORS_RATE), self.recorded(TOTAL_RATE))
        errors, total = self.coarse() if is_recorded(window) else self.fine_metrics()
        return self.recorded_ratio(self._over(errors, window), self._over(total, window))

    def fine_metrics(self) -> tuple[str, str]:
        return self.fine_errors, self.fine_total

    def coarse(self) -> tuple[str, str]:
        """The (errors, total) slices the long windows sum: the coarse ones, or the fine
        ones when they are as long (a service scraped every 2m)."""
        if self.slices.single:
            return self.fine_metrics()
        return SLICE_ERRORS, SLICE_TOTAL

    def counter_ratio(self, sli: EventSli, window: int, present: str | None = None) -> str:
        """The error ratio over `window` straight from the counters. 0 where `present` has
        a value and the ratio has none; by default the window's total (the live checks,
        which cannot assume our rules are loaded)."""
        total = self.sum_rate(sli.total, window)
        return self.safe_ratio(self.errors_over(sli, window), total, present or total)

    def event_slices(self, sli: EventSli) -> list[tuple[str, str, int | None]]:
        """An event SLI's recording rules below its windows, (metric, expr, every): the
        fine slices, the coarse ones, the base rates."""
        fine = [(m, e, self.slices.fine) for m, e in self.fine_slices(sli)]
        coarse = [(m, e, SLICE) for m, e in self.coarse_slices()]
        return [*fine, *coarse, *((m, e, None) for m, e in self.base_rates())]

    def fine_slices(self, sli: EventSli) -> list[tuple[str, str]]:
        """The (total, errors) slices every window is summed from; the only rules that
        read the raw counters. Errors absent are none, where the total recorded just
        before says the SLI exists."""
        total = self.sum_slice(sli.total)
        errors = self._bad(sli, self.sum_slice)
        if sli.errors is not None:
            errors = f"{errors}\nor 0 * {self.sum_recorded(self.fine_total)}"
        return [(self.fine_total, total), (self.fine_errors, errors)]

    def _means(self, total_metric: str, errors_metric: str, window: int) -> list[tuple[str, str]]:
        """The (total, errors) rates over `window` as the mean of the fine slices in it
        (their sum over the number of tiles it holds: a constant, so ratios of them are
        ratios of events). The recorded errors exist wherever the total does."""
        tiles = decimal_str(Decimal(window) / self.slices.fine)
        return [
            (metric, f"{self._over(fine, window)} / {tiles}")
            for metric, fine in ((total_metric, self.fine_total), (errors_metric, self.fine_errors))
        ]

    def event_scrape_interval(self, sli: EventSli, declared: int) -> tuple[str, str]:
        """The SLI's scrape interval as measured: the median over the total's series of
        a range over the samples it holds (a new pod's short history is an outlier the
        median leaves out), the range SCRAPE_SAMPLE_SCRAPES declared scrapes and at
        least SLICE, which its group runs every: each sample is read about once more."""
        span = burnrate.scrape_span(declared)
        counted = f"count_over_time({sli.total.render()}[{dur(span)}])"
        return SCRAPE_INTERVAL, f"quantile(0.5, {span} / {counted})"

    def base_rates(self) -> list[tuple[str, str]]:
        return self._means(TOTAL_RATE, ERRORS_RATE, BASE_RATE_WINDOW)

    def coarse_slices(self) -> list[tuple[str, str]]:
        """The coarse slices the long windows are summed from (every event SLI has one
        such window, its period of 1d to 90d), unless the fine ones are as long."""
        if self.slices.single:
            return []
        return self._means(SLICE_TOTAL, SLICE_ERRORS, SLICE)


def _annotations(
    slo: Slo, service: str, tier: Tier, budget: Decimal, links: dict[str, str]
) -> Labels:
    group = "".join(f" {g}={{{{ $labels.{g} }}}}" for g in slo.group_by)
    threshold = tier.threshold(budget)
    lasts = dur(int(tier.period / tier.factor))
    summary = (
        f"{service} {slo.name}{group}: error budget burning "
        f'{{{{ $value | printf "%.1f" }}}}x the sustainable rate'
    )
    what = templates.literal(slo.description or slo.name)
    description = (
        f'{what}. Burn rate {{{{ $value | printf "%.1f" }}}}x over the '
        f"last {dur(tier.long_window)}, and above {decimal_str(tier.factor)}x over the last "
        f"{dur(tier.short_window)}: more than {decimal_str(threshold * 100)}% of events fail "
        f"against a budget of {decimal_str(budget * 100)}% (objective "
        f"{decimal_str(Decimal(100) - budget * 100)}% over {dur(tier.period)}). At "
        f"{decimal_str(tier.factor)}x the whole {dur(tier.period)} budget lasts {lasts}."
    )
    return _merge(
        {"summary": summary, "description": description},
        links,
        getattr(slo.alerting, tier.severity).annotations,
    )


def _links(slo: Slo, dashboard_url: str | None) -> dict[str, str]:
    """runbook_url, and dashboard_url: the SLO's own, else the generated dashboard's."""
    links = {
        "runbook_url": slo.alerting.runbook_url,
        "dashboard_url": slo.alerting.dashboard_url or dashboard_url,
    }
    return {k: v for k, v in links.items() if v}


def _tier_labels(slo: Slo, tier: Tier) -> dict[str, str]:
    options = slo.alerting.tiers.get(tier.name)  # type: ignore[call-overload]
    return dict(options.labels) if options else {}


def _merge(*dicts: dict[str, str]) -> Labels:
    merged: dict[str, str] = {}
    for d in dicts:
        merged.update(d)
    return tuple(merged.items())


def _alert_labels(*dicts: dict[str, str]) -> Labels:
    """An alert's labels: Prometheus and Grafana expand templates in them, so every value
    (user text) is written as a literal."""
    return tuple((k, templates.literal(v)) for k, v in _merge(*dicts))


Record = Callable[..., RecordingRule]


def _recording_rules(
    build: ExprBuilder,
    record: Record,
    tiers: list[Tier],
    windows: list[int],
    period: int,
    budget_objective: tuple[Decimal, Decimal],
    scrape_interval: int,
) -> tuple[list[Rule], str | None]:
    """The SLO's recording rules in evaluation order (slices, rates, every window's ratio,
    the scrape measure, the SLO's constants and budget), and the scrape measure's metric
    (None for a raw SLI)."""
    budget, objective = budget_objective
    query = build.query
    rules: list[Rule] = [record(m, e, "sli", every) for m, e, every in query.slices(build)]
    for w in windows:
        alerted = any(w in (t.long_window, t.short_window) for t in tiers)
        rules.append(
            record(ratio_metric(w), build.ratio(w), "sli", query.every(w, period, alerted))
        )
    measured = query.scrape_measure(build, scrape_interval)
    rules += [record(*measured, "sli", SLICE)] if measured else []
    shortest = build.recorded(ratio_metric(windows[0]))
    rules += [
        record(OBJECTIVE, f"vector({decimal_str(objective / 100)})", "objective"),
        record(ERROR_BUDGET, f"vector({decimal_str(budget)})", "objective"),
        record(CURRENT_BURN, f"{shortest} / {decimal_str(budget)}", "objective"),
        record(
            BUDGET_REMAINING,
            f"1 - {build.recorded(ratio_metric(period))} / {decimal_str(budget)}",
            "period",
            SLICE,
        ),
    ]
    return rules, measured[0] if measured else None


def _tier_alert(
    slo: Slo,
    service: str,
    tier: Tier,
    build: ExprBuilder,
    budget: Decimal,
    user_labels: dict[str, str],
    links: dict[str, str],
    origin: Origin,
) -> AlertRule:
    """One tier's burn-rate alert: both windows' recorded ratios over the factor."""
    conditions = tuple(
        (f"{build.recorded(ratio_metric(w))} / {decimal_str(budget)}", decimal_str(tier.factor))
        for w in (tier.long_window, tier.short_window)
    )
    expr = "\nand\n".join(f"{burn} > {factor}" for burn, factor in conditions)
    rule_labels = _alert_labels(
        user_labels,
        {
            "severity": SEVERITY_DEFAULTS[tier.severity],
            "slo_tier": tier.severity,
            "slo_window": tier.window_label,
        },
        getattr(slo.alerting, tier.severity).labels,
        _tier_labels(slo, tier),
    )
    return AlertRule(
        slo.alert_name,
        expr,
        tier.for_,
        rule_labels,
        _annotations(slo, service, tier, budget, links),
        Origin(origin.path, origin.line, origin.col, "alerting"),
        conditions,
        tier,
    )


def plan_slo(
    slo: Slo,
    *,
    service: str,
    file_labels: dict[str, str],
    query: SliKind,
    tiers: list[Tier],
    origin: Origin,
    dashboard_url: str | None = None,
    scrape_interval: int = burnrate.DEFAULT_SCRAPE_INTERVAL,
) -> SloPlan:
    """All rules of one SLO, in evaluation order. `dashboard_url` links the alerts to the
    generated dashboard unless the SLO names its own."""
    links = _links(slo, dashboard_url)
    objective = burnrate.to_decimal(slo.objective)
    budget = burnrate.error_budget(objective)
    period = parse_duration(slo.period)
    windows = burnrate.windows(tiers, period)
    selector_labels = {"slo": slo.name, "slo_service": service}
    user_labels = {**dict(sorted(file_labels.items())), **dict(sorted(slo.labels.items()))}
    labels = tuple({**selector_labels, **user_labels}.items())
    slices = slices_for(scrape_interval, tuple(windows))
    build = ExprBuilder(query, tuple(slo.group_by), selector_labels, slices)

    def record(metric: str, expr: str, field: str, every: int | None = None) -> RecordingRule:
        return RecordingRule(
            metric, expr, labels, Origin(origin.path, origin.line, origin.col, field), every
        )

    rules, measured = _recording_rules(
        build, record, tiers, windows, period, (budget, objective), scrape_interval
    )
    rules += [
        _tier_alert(slo, service, tier, build, budget, user_labels, links, origin) for tier in tiers
    ]
    rules += _sli_alerts(
        slo, service, build, user_labels, (scrape_interval, measured), windows[0], origin, links
    )
    return SloPlan(
        service=service,
        name=slo.name,
        description=slo.description,
        objective=objective,
        budget=budget,
        period=period,
        tiers=tuple(tiers),
        windows=tuple(windows),
        group_by=tuple(slo.group_by),
        query=query,
        series_labels=labels,
        alert_name=slo.alert_name,
        group_name=f"slo:{service}:{slo.name}",
        rules=tuple(rules),
        loadtest=slo.loadtest,
        scrape_interval=scrape_interval,
        slices=slices if query.counters is not None else None,
        history=tuple((p.until, burnrate.to_decimal(p.objective)) for p in slo.objective_history),
    )


def _sli_alerts(
    slo: Slo,
    service: str,
    build: ExprBuilder,
    user_labels: dict[str, str],
    scrape: tuple[int, str | None],
    shortest: int,
    origin: Origin,
    links: dict[str, str],
) -> list[Rule]:
    """The alerts about the SLI itself, routed as tickets: its series missing, and (event
    SLIs) its series scraped less often than the file declares: `scrape` is the declared
    interval and the recorded series that measures it (None for a raw SLI). Both carry
    the SLO's labels of their own, since an absent() has none of the recorded series'."""
    declared, measured = scrape
    labels = _alert_labels(
        build.labels,
        user_labels,
        {"severity": SEVERITY_DEFAULTS["ticket"], "slo_tier": "ticket"},
        slo.alerting.ticket.labels,
    )
    made = _SliAlert(
        slo.alert_name.removesuffix("BudgetBurn"),
        f"{service} {slo.name}",
        labels,
        links,
        Origin(origin.path, origin.line, origin.col, "sli"),
    )
    alerts: list[Rule] = [_missing(slo, service, build, shortest, made)]
    if measured is not None:
        alerts.append(_slower(slo, service, build.recorded(measured), declared, made))
    return alerts


@dataclass(frozen=True)
class _SliAlert:
    """What the alerts about an SLI share: their name's stem, how they name the SLO,
    labels, links and where they come from."""

    base: str
    what: str
    labels: Labels
    links: dict[str, str]
    at: Origin

    def rule(
        self, suffix: str, expr: str, wait: int, annotations: dict[str, str], check: tuple
    ) -> AlertRule:
        return AlertRule(
            self.base + suffix,
            expr,
            wait,
            self.labels,
            _merge(annotations, self.links),
            self.at,
            (check,),
            check=SLI_MISSING if suffix == "SLIMissing" else SCRAPE_CHECK,
        )


def _missing(
    slo: Slo, service: str, build: ExprBuilder, shortest: int, made: _SliAlert
) -> AlertRule:
    """`<Name>SLIMissing`: a metric the SLI reads has no series (not: no error yet)."""
    absent, metrics = build.query.missing(build, shortest)
    if metrics is not None:
        why = (
            f"No series of {metrics} matching the SLI's selectors (without the bad or "
            f"good events' own matchers) for {dur(burnrate.SLI_MISSING_FOR)}: "
            "its burn-rate alerts cannot fire. A metric name never seen may be misspelt "
            "(`slo-compiler doctor` names the closest known ones); else check that the "
            "service is scraped."
        )
    else:
        why = (
            f"No series of the SLI of {slo.name} ({service}) for "
            f"{dur(burnrate.SLI_MISSING_FOR)}: its burn-rate alerts cannot fire. Check the "
            "expression's selectors and that the service is scraped."
        )
    summary = {"summary": f"{made.what}: SLI has no data", "description": why}
    return made.rule("SLIMissing", absent, burnrate.SLI_MISSING_FOR, summary, (absent, "0"))


def _slower(slo: Slo, service: str, value: str, declared: int, made: _SliAlert) -> AlertRule:
    """`<Name>ScrapeIntervalMismatch`: the SLI scraped over 1.5x less often than declared."""
    limit = decimal_str(burnrate.SCRAPE_MISMATCH * declared)
    seconds = '{{ $value | printf "%.0f" }}'
    annotations = {
        "summary": f"{made.what}: SLI scraped every {seconds}s, the SLO file says {dur(declared)}",
        "description": f"The series of the SLI of {slo.name} ({service}) are scraped about "
        f"every {seconds}s, over {decimal_str(burnrate.SCRAPE_MISMATCH)}x the "
        f"{dur(declared)} the SLO file declares (scrape_interval). The windows stay right, "
        "but the shortest hold fewer scrapes than were checked at compile time. Set "
        "scrape_interval to the real one.",
    }
    return made.rule(
        "ScrapeIntervalMismatch",
        f"{value} > {limit}",
        burnrate.SCRAPE_MISMATCH_FOR,
        annotations,
        (value, limit),
    )
