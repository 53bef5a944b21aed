"""What a live Prometheus says about the world an SLO assumes, measured rather than
assumed: are the metrics its SLI reads there at all (and if not, which known names are
closest: a misspelling reads as a perfect SLO otherwise), how often are they really
scraped, are their targets up, does the histogram publish the threshold's bucket, are
the compiled rules loaded and for how much of the period have they recorded.

`doctor` prints all of it; verify, backtest, status, report and the load-test gate share
`missing` (a metric with no series is inconclusive, never a pass) and `closest`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ..rules.burnrate import SCRAPE_MISMATCH, SLICE
from ..rules.ir import RecordingRule, SloPlan
from ..rules.plan import TOTAL_RATE, ratio_metric
from ..rules.promql import Selector, series
from ..rules.sli import EventSli
from .client import Client
from .coverage import TARGET, Coverage, coverage, up_selector
from .queries import Window, counters

# Every metric name Prometheus knows: an index look-up, no samples read.
_ANY = '{__name__=~".+"}'
CLOSEST = 3
# How far back `doctor` asks whether a metric is known (an index look-up: cheap).
LOOKBACK = 86400
# A target that exported the SLI this recently and is down now is one we cannot see.
TARGETS_LOOKBACK = 3600
# Over this span the samples of `up` tell a target's real scrape interval: the longest
# interval the rules are designed for (2m) five times over.
INTERVAL_SPAN = 600
# Over this span a recorded series' samples tell the interval they come at: three of the
# slow group's evaluations at least, so one more or less barely moves it.
RECORDING_SPAN = 3 * SLICE


def closest(client: Client, metric: str, start: float, end: float) -> list[str]:
    """The known metric names nearest to `metric` (a misspelling's likely meaning)."""
    names = client.metric_names(_ANY, start, end)
    return difflib.get_close_matches(metric, names, n=CLOSEST, cutoff=0.6)


def _unknown(client: Client, selector: Selector, window: Window) -> str:
    """Why `selector` has no series: its metric is unknown (and what is near), or known
    with other labels only."""
    if client.metric_names(selector.metric, window.start, window.end):
        return f"no series of {selector.render()} (its metric has series with other labels)"
    # Names known over the last day at least: a load test's window of minutes may hold
    # no series of the metric the misspelling meant.
    near = closest(client, selector.metric, min(window.start, window.end - LOOKBACK), window.end)
    hint = f"; closest known: {', '.join(near)}" if near else "; no metric name is close"
    return f"metric {selector.metric} is unknown to Prometheus{hint}"


def missing(client: Client, plan: SloPlan, window: Window) -> list[str]:
    """One reason per metric the SLI reads (EventSli.presence: the bad or good events'
    own matchers left out) with no series in the window. An errors selector without
    series is no error yet; an errors metric without series at all is a misspelt name
    or a metric not exported, and reading it as zero errors would pass anything. An
    index look-up (no samples read), so a 90d period costs what an hour does."""
    if plan.counters is None:
        return []
    return [
        _unknown(client, selector, window)
        for selector in plan.counters.presence()
        if not client.metric_names(selector.render(), window.start, window.end)
    ]


@dataclass
class Finding:
    """One thing measured about an SLO: `ok` False is a problem to fix."""

    what: str
    ok: bool
    detail: str

    def document(self) -> dict[str, Any]:
        return {"check": self.what, "ok": self.ok, "detail": self.detail}


@dataclass
class Diagnosis:
    service: str
    slo: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def document(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "slo": self.slo,
            "ok": self.ok,
            "findings": [f.document() for f in self.findings],
        }


def _scalar(client: Client, expr: str, at: float) -> float | None:
    found = client.query(expr, at)
    return found[0][1] if found else None


def _metrics(client: Client, sli: EventSli, window: Window) -> list[Finding]:
    out = []
    for selector in sli.presence():
        count = _scalar(client, f"count({selector.render()})", window.end)
        if count:
            out.append(Finding(f"series of {selector.metric}", True, f"{count:g} now"))
        elif client.metric_names(selector.render(), window.start, window.end):
            out.append(
                Finding(f"series of {selector.metric}", False, "none now, some in the last day")
            )
        else:
            out.append(
                Finding(f"series of {selector.metric}", False, _unknown(client, selector, window))
            )
    return out


def _interval(client: Client, plan: SloPlan, sli: EventSli, at: float) -> Finding:
    """The real scrape interval of the targets exporting the SLI, the slowest named
    (intervals differ per job)."""
    intervals = target_intervals(client, sli, at)
    if not intervals:
        return Finding("scrape interval", False, "no target scraped twice lately to measure it by")
    median, slowest = intervals[len(intervals) // 2], intervals[-1]
    declared = plan.scrape_interval
    ok = not interval_note(plan, slowest)
    measured = f"{seconds(median)} (slowest target {seconds(slowest)})"
    detail = f"{measured}; the SLO file says {declared}s" + (
        "" if ok else ": set scrape_interval to the real one"
    )
    return Finding("scrape interval", ok, detail)


def _exporting(sli: EventSli) -> str:
    """The (job, instance) targets that exported the SLI's total in the last
    TARGETS_LOOKBACK. A target down has stale series, so the targets exporting them now
    would leave it out."""
    total = sli.total.render()
    return f"group by (job, instance) (last_over_time({total}[{TARGETS_LOOKBACK}s]))"


def targets_down(client: Client, sli: EventSli, at: float) -> tuple[int, list[str]]:
    """How many targets exported the total's series lately, and which of them are down
    now; one gone from service discovery (a replaced pod) has no `up` any more and is not
    down."""
    recent = _exporting(sli)
    exporting = _scalar(client, f"count({recent})", at) or 0
    down = client.query(f"{recent} and on (job, instance) (up == 0)", at)
    return int(exporting), sorted(
        f"{labels.get('instance', '?')} (job {labels.get('job', '?')})" for labels, _ in down
    )


def target_intervals(client: Client, sli: EventSli, at: float) -> list[float]:
    """The real scrape interval of each target that exported the SLI lately: the median
    spacing of its `up` samples over INTERVAL_SPAN, read as stored. `up` is written at
    every scrape from the target's first, where an app's request counters appear on its
    first request; a target with one sample so far tells nothing, and a Prometheus
    started a minute ago tells as much as one up for days."""
    targets = {
        tuple(labels.get(k, "") for k in TARGET) for labels, _ in client.query(_exporting(sli), at)
    }
    if not targets:
        return []
    found = client.samples(f"{up_selector(sorted(targets)).render()}[{INTERVAL_SPAN}s]", at)
    spacings = []
    for labels, samples in found:
        times = [t for t, _ in samples]
        if tuple(labels.get(k, "") for k in TARGET) in targets and len(times) > 1:
            gaps = sorted(b - a for a, b in pairwise(times))
            spacings.append(gaps[len(gaps) // 2])
    return sorted(spacings)


def scraped_since(client: Client, plans: list[SloPlan], since: float, at: float) -> bool:
    """Whether every target exporting the SLIs has been scraped at or after `since` (its
    `up`, written at each scrape, is that new): then the counters hold every event up to
    `since`. Where an SLI has no series yet (an app whose first request was the load),
    every target: the first scrape after the load is the one that creates them."""
    sources = [_exporting(p.counters) for p in plans if p.counters is not None]
    if any(not client.query(f"count({source})", at) for source in sources):
        sources = []
    lagging = f"timestamp(up) < {since:.3f}"
    if sources:
        lagging += f" and on (job, instance) ({' or '.join(sources)})"
    return not client.query(f"count({lagging})", at)


def effective_interval(client: Client, plan: SloPlan, at: float) -> float:
    """The interval the live checks judge gaps and a scrape after a window by: the real
    one where it is longer than the file says (Prometheus' default is 1m, Alloy's 60s,
    whatever the file declares), else the declared one."""
    if plan.counters is None:
        return float(plan.scrape_interval)
    return max([float(plan.scrape_interval), *target_intervals(client, plan.counters, at)])


@dataclass
class Seen:
    """What status and backtest (so report) know before reading an SLO's events."""

    coverage: Coverage
    notes: list[str]  # said, not failing: the real scrape interval against the file's
    unreadable: list[str]  # why its events cannot be read: no series, a metric unknown


def seen(client: Client, plan: SloPlan, window: Window, step: float, what: str) -> Seen:
    """The SLI's coverage of `window`, looked at every `step` with gaps judged at the real
    scrape interval (measured at its end: at 2m every declared 15s would be a gap), and
    whether its series exist at all (`what` names the window in the reason)."""
    interval = effective_interval(client, plan, window.end)
    total = counters(plan).total
    found = coverage(client, total, window.start, window.end, interval, step)
    unreadable = (
        [f"no series of {total.render()} in the {what}"]
        if found.targets == 0
        else missing(client, plan, window)
    )
    return Seen(found, interval_note(plan, interval), unreadable)


def seconds(value: float) -> str:
    """A measured interval as people read it: whole seconds (a scrape's jitter of a few
    milliseconds is no information), fractions under a second."""
    return f"{round(value)}s" if value >= 1 else f"{value:.3g}s"


def interval_note(plan: SloPlan, interval: float) -> list[str]:
    """What a live command says where the real scrape interval is not the declared one:
    its gaps were judged at the real one, and the rules need the file to say it."""
    if interval <= float(SCRAPE_MISMATCH) * plan.scrape_interval:
        return []
    return [
        f"the SLI's targets are scraped every {seconds(interval)}, the SLO file says "
        f"{plan.scrape_interval}s: judged at {seconds(interval)}; set scrape_interval to it"
    ]


def _targets(client: Client, sli: EventSli, at: float) -> Finding:
    exporting, down = targets_down(client, sli, at)
    if not exporting:
        return Finding("targets", False, "no target exported the SLI's series in the last hour")
    if down:
        return Finding("targets", False, f"down now: {', '.join(down)} of {exporting}")
    return Finding("targets", True, f"{exporting} up")


def _buckets(client: Client, sli: EventSli, at: float) -> Finding | None:
    """A latency SLI: the bucket the threshold needs, among those the histogram has."""
    if not sli.le or sli.good is None:
        return None
    base = Selector(sli.good.metric, tuple(m for m in sli.good.matchers if m.name != "le"))
    found = client.query(f"count by (le) ({base.render()})", at)
    have = sorted({labels.get("le", "") for labels, _ in found})
    if any(le in have for le in sli.le):
        return Finding("histogram bucket", True, f"le={sli.le[0]} published")
    shown = ", ".join(have) if have else "none"
    return Finding("histogram bucket", False, f"no le={sli.le[0]} bucket; published: {shown}")


def recorded_for(client: Client, plan: SloPlan, at: float) -> float:
    """For how many seconds of the period the compiled rules have recorded its ratio: its
    samples over the period times the interval they come at, measured over the last
    RECORDING_SPAN (rules loaded a minute ago hold one sample; a Prometheus down for a
    day left a day out). The status and report read recorded series only where this
    covers the period."""
    period = series(ratio_metric(plan.period), plan.selector_labels).render()
    samples = _scalar(client, f"max(count_over_time({period}[{plan.period}s]))", at) or 0
    recent = _scalar(client, f"max(count_over_time({period}[{RECORDING_SPAN}s]))", at) or 0
    if not recent:
        return 0.0
    if samples <= recent:  # younger than the span: its samples' spacing is all there is
        return min(float(plan.period), (samples - 1) * RECORDING_SPAN / recent)
    return min(float(plan.period), samples * RECORDING_SPAN / recent)


def _recorded_base(plan: SloPlan) -> str:
    """A series every loaded rule set of the SLO records at every evaluation."""
    recorded = TOTAL_RATE if plan.slices else ratio_metric(plan.windows[0])
    return series(recorded, plan.selector_labels).render()


def rules_loaded(client: Client, plans: list[SloPlan], at: float) -> bool:
    """Whether this Prometheus evaluates the compiled rules of any of the SLOs now."""
    return any(_scalar(client, f"count({_recorded_base(p)})", at) for p in plans)


def _rules(client: Client, plan: SloPlan, at: float) -> Finding:
    """Whether the compiled rules are loaded (their recorded series exist now) and for
    how much of the period they have recorded."""
    if not rules_loaded(client, [plan], at):
        return Finding("rules", False, "not loaded (no recorded series of this SLO now)")
    covered = recorded_for(client, plan, at) / plan.period
    return Finding("rules", True, f"loaded; recorded for about {covered:.1%} of the period")


def _cost(client: Client, plan: SloPlan, at: float, interval: int) -> Finding:
    """What the SLO's rules read a minute, measured: each rule's expression evaluated now
    with Prometheus' query statistics, times its group's evaluations a minute. Where the
    rules are not loaded, the windows that sum recorded series read nothing yet: the
    figure is then the part that reads the raw counters, which is what grows with the
    SLI's series."""
    total = 0.0
    for rule in plan.rules:
        read = client.samples_read(rule.expr, at)
        if read is None:
            return Finding(
                "rule cost", True, "not measurable: this server gives no query statistics"
            )
        every = rule.every if isinstance(rule, RecordingRule) and rule.every else interval
        total += read * 60 / every
    loaded = rules_loaded(client, [plan], at)
    part = "" if loaded else " (the raw-counter part: the rules are not loaded)"
    return Finding(
        "rule cost", True, f"{total:,.0f} samples read a minute by {len(plan.rules)} rules{part}"
    )


def diagnose(client: Client, plan: SloPlan, at: float, interval: int) -> Diagnosis:
    """Everything `doctor` measures about one SLO; `interval`: the rule evaluation
    interval of the groups without one of their own."""
    result = Diagnosis(plan.service, plan.name)
    window = Window(at - LOOKBACK, at, 1)
    sli = plan.counters
    if sli is not None:
        result.findings += _metrics(client, sli, window)
        if all(f.ok for f in result.findings):
            result.findings.append(_interval(client, plan, sli, at))
            result.findings.append(_targets(client, sli, at))
            bucket = _buckets(client, sli, at)
            result.findings += [bucket] if bucket else []
    result.findings.append(_rules(client, plan, at))
    result.findings.append(_cost(client, plan, at, interval))
    return result
