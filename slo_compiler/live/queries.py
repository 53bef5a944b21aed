"""The queries verify and backtest share, built by plan.ExprBuilder (the code that writes
the rules), so that what is checked live is by construction what is deployed: events per
group over a window, a tier's condition in raw-counter form, and its replay with `for`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from ..rules.burnrate import Tier, decimal_str
from ..rules.ir import SloPlan
from ..rules.plan import ExprBuilder
from ..rules.sli import EventSli
from .client import Client, Labels, Samples
from .replay import Episode, chunks, episodes, grid

Key = tuple[str, ...]


def uncounted(plan: SloPlan) -> str:
    """Why a kind of SLI without counters (plan.counters None) has no events to count."""
    return f"a {plan.query.kind} SLI's events cannot be counted from its expression"


def counters(plan: SloPlan) -> EventSli:
    """The counters of an SLO the caller has already turned away if it had none
    (`uncounted`): every query here counts events."""
    if plan.counters is None:
        raise ValueError(uncounted(plan))
    return plan.counters


@dataclass(frozen=True)
class Window:
    """[start, end] in unix seconds, looked at every `interval` (the rule evaluation
    interval: where a rule group's evaluations fall)."""

    start: float
    end: float
    interval: int

    @property
    def seconds(self) -> int:
        """The window as a range selector's whole seconds (a range must be positive)."""
        return max(1, int(self.end - self.start))


def group_key(labels: Labels, names: tuple[str, ...]) -> Key:
    return tuple(labels.get(n, "") for n in names)


def by_group(client: Client, expr: str, at: float, names: tuple[str, ...]) -> dict[Key, float]:
    return {group_key(labels, names): value for labels, value in client.query(expr, at)}


def over_window(
    client: Client, expr: str, start: float, end: float, step: float
) -> Iterator[tuple[Labels, Samples]]:
    """`expr` at every step of [start, end], in chunks under the server's point limit."""
    for a, b in chunks(start, end, step):
        yield from client.query_range(expr, a, b, step)


def has_series(client: Client, selector: str, window: Window) -> bool:
    """Whether `selector` had any series in the window."""
    found = client.query(f"count(count_over_time({selector}[{window.seconds}s]))", window.end)
    return bool(found and found[0][1] > 0)


def events(
    client: Client, plan: SloPlan, window: Window
) -> tuple[dict[Key, float], dict[Key, float]]:
    """Per group, all events and bad events over the window: increase() of the counters,
    which extrapolates to the window's edges (an estimate, said so in every report)."""
    sli = counters(plan)
    build = ExprBuilder(sli, plan.group_by, plan.selector_labels)
    total = build.sum_rate(sli.total, window.seconds, "increase")
    bad = build.errors_over(sli, window.seconds, "increase")
    names = plan.group_by
    return by_group(client, total, window.end, names), by_group(client, bad, window.end, names)


def counted(
    client: Client, plan: SloPlan, window: Window, until: float
) -> tuple[dict[Key, float], dict[Key, float]]:
    """Per group, all events and bad events from the last scrape at or before the
    window's start to the last at or before `until`: the gate's time by which every
    target had been scraped after the window's end (a counter scraped every 2m holds a
    1m load test's events only there), else the scrape nearest to the end. Series
    created in the window count from 0 (ExprBuilder.sum_counted)."""
    sli = counters(plan)
    build = ExprBuilder(sli, plan.group_by, plan.selector_labels)
    total, bad = build.counted(sli, until - window.start)
    names = plan.group_by
    return by_group(client, total, until, names), by_group(client, bad, until, names)


def condition(plan: SloPlan, tier: Tier) -> str:
    """The tier's alert condition over the raw counters, as the rules state it."""
    sli = counters(plan)
    build = ExprBuilder(sli, plan.group_by, plan.selector_labels)
    factor, b = decimal_str(tier.factor), decimal_str(plan.budget)
    long_, short = (build.counter_ratio(sli, w) for w in (tier.long_window, tier.short_window))
    return f"(({long_}) / {b} > {factor})\nand\n(({short}) / {b} > {factor})"


def replay(
    client: Client,
    plan: SloPlan,
    tier: Tier,
    window: Window,
    lead: float = 0,
    expr: str | None = None,
) -> dict[Key, list[Episode]]:
    """Per group, the episodes of the tier's condition over the window, with its `for`
    applied as Prometheus applies it (replay.py), from `lead` seconds before the window's
    start. Each evaluation reads its own long and short windows, so the only state that
    crosses into the window is `for`'s: a lead of `for` and an interval tells whether the
    alert was already pending or firing at the start. `expr`: another form of the
    condition (the deployed alert's, over the recorded series); by default the raw one."""
    start = window.start - lead
    holds: dict[Key, set[float]] = {}
    held = expr or condition(plan, tier)
    for labels, values in over_window(client, held, start, window.end, window.interval):
        holds.setdefault(group_key(labels, plan.group_by), set()).update(t for t, _ in values)
    times = grid(start, window.end, window.interval)
    return {key: episodes(times, steps, tier.for_) for key, steps in holds.items()}


def burn(bad: float, total: float, budget: Decimal) -> Decimal:
    """The window's error ratio in units of the budget."""
    return Decimal(repr(bad / total)) / budget
