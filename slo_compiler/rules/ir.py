"""The rule IR: what planning decides and every target renders.

Targets (Prometheus rule files, promtool tests, Grafana, Kubernetes) read these objects and
never recompute windows, thresholds or expressions, so two targets cannot disagree about
when an SLO alerts.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from ..source.model import LoadTest
from .burnrate import DEFAULT_SCRAPE_INTERVAL, DEFAULT_SLICES, Slices, Tier
from .sli import EventSli, SliKind

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Origin:
    """Where in the sources a generated expression comes from, for error messages."""

    path: str
    line: int
    col: int
    field: str


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Labels
    origin: Origin
    # None: with the SLO's alerts, at every rule evaluation. Else the seconds between
    # evaluations of the SLO's slow group (slices, the windows summed from them, the
    # period), which no alert reads more often than it changes.
    every: int | None = None


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    for_: int
    labels: Labels
    annotations: Labels
    origin: Origin
    # The alert as a conjunction of `expression > threshold`, for engines that evaluate
    # queries and thresholds apart (Grafana): the burn rate over each window and the
    # factor; for the SLI-missing alert, absent(...) and 0.
    conditions: tuple[tuple[str, str], ...] = ()
    tier: Tier | None = None  # None for the alerts about the SLI itself (`check`)
    # What a tier-less alert checks: "sli-missing" or "scrape-interval" (its Grafana uid
    # and explain's tier column); "" for a burn-rate tier.
    check: str = ""


Rule = RecordingRule | AlertRule


def title(rule: AlertRule) -> str:
    """The alert's name where Grafana evaluates it: one rule per tier, so the tier's long
    window tells two tiers of one SLO apart (`PaymentFailureBudgetBurn 1h`)."""
    return f"{rule.alert} {rule.tier.window_label}" if rule.tier else rule.alert


_T = TypeVar("_T")


def in_force(history: tuple[tuple[float, _T], ...], t: float, current: _T) -> _T:
    """The objective of an objective history ((until, objective), oldest first) in force
    at `t`: the first that held until after it, else today's."""
    return next((objective for until, objective in history if t < until), current)


@dataclass(frozen=True)
class SloPlan:
    """Everything decided about one SLO."""

    service: str
    name: str
    description: str
    objective: Decimal  # percent
    budget: Decimal  # allowed error ratio
    period: int  # seconds
    tiers: tuple[Tier, ...]
    windows: tuple[int, ...]
    group_by: tuple[str, ...]
    query: SliKind  # the resolved SLI: what the targets and live checks read of it
    series_labels: Labels  # slo, slo_service and user labels on every recorded series
    alert_name: str
    group_name: str
    rules: tuple[Rule, ...]
    # As written (loadtool.py derives the default); not part of the plan's identity.
    loadtest: LoadTest | None = field(default=None, hash=False, compare=False)
    # The file's scrape interval (seconds): what the live checks expect between samples.
    scrape_interval: int = field(default=DEFAULT_SCRAPE_INTERVAL, hash=False, compare=False)
    # The slices every window is summed from (burnrate.Slices); None for a raw SLI, whose
    # windows are its own expression.
    slices: Slices | None = DEFAULT_SLICES
    # The objectives that held before, oldest first: (until, percent). The rules hold
    # today's; reports and status judge the time before each `until` by its own.
    history: tuple[tuple[float, Decimal], ...] = field(default=(), hash=False, compare=False)

    def objective_at(self, t: float) -> Decimal:
        """The objective in force at `t`."""
        return in_force(self.history, t, self.objective)

    def budget_at(self, t: float) -> float:
        """The allowed error ratio at `t`."""
        return float(1 - self.objective_at(t) / 100)

    @property
    def counters(self) -> EventSli | None:
        """The counters the SLI's events are counted from; None for a kind whose events
        cannot be counted (the live checks and generated tests say so)."""
        return self.query.counters

    @property
    def selector_labels(self) -> dict[str, str]:
        """Labels that pick this SLO's recorded series out of all SLOs'."""
        return {"slo": self.name, "slo_service": self.service}

    @property
    def alerts(self) -> list[AlertRule]:
        return [r for r in self.rules if isinstance(r, AlertRule)]

    def check(self, name: str) -> AlertRule | None:
        """The SLO's alert about its SLI of one kind (AlertRule.check), if it has one."""
        return next((r for r in self.alerts if r.check == name), None)

    def alert_names(self) -> set[str]:
        """Every name on-call sees for this SLO's alerts: the Prometheus alertname, and
        each Grafana rule's title (the name and the tier's long window)."""
        return {r.alert for r in self.alerts} | {title(r) for r in self.alerts}


@dataclass(frozen=True)
class SourcePlan:
    """One SLO file and what it compiles to."""

    source: str  # display path, e.g. slos/payment-service.yaml
    stem: str  # output name without extension, e.g. payment-service
    slos: tuple[SloPlan, ...] = field(default_factory=tuple)

    def per_slo(self) -> list[SourcePlan]:
        """One plan per SLO, named `<stem>.<slo>`: the unit of the Prometheus rule files
        and of the generated tests. A test file then loads only the rules it proves, and
        a service's tests cost its SLOs times one SLO's scenarios, not its SLOs squared
        (promtool evaluates every loaded rule at every step). SLO names hold no dot, so
        two (file, SLO) pairs never give one name."""
        return [SourcePlan(self.source, f"{self.stem}.{s.name}", (s,)) for s in self.slos]


def slo_folder(plans: list[SourcePlan]) -> str:
    """How a file made from every SLO file names its sources: their folder (`slos/`), not
    each file, so that adding a service changes no other file's header, and two pull
    requests that each add one do not conflict in every aggregate file."""
    folders = {posixpath.dirname(p.source) or "." for p in plans}
    return (posixpath.commonpath(sorted(folders)) if folders else ".").rstrip("/") + "/"
