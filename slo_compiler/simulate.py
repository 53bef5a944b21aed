"""A model of Prometheus 2.x evaluating our rules on synthetic traffic, in closed form.

The generated promtool tests need to know, before promtool runs, at which evaluation an
alert starts firing and what `$value` its annotations will show. Rather than interpret
PromQL, this models the few expression shapes planning emits, on counters that grow
linearly (piecewise: a step in the error rate at one instant):

* `rate(c[W])` at t, with samples every `sample` seconds from 0 (all counters start at 0,
  so Prometheus does not extrapolate before the first sample), is (c(t) - c(t-W)) / W;
* a recorded 5m rate exists at every evaluation after 0, and `sum_over_time(r[W])` sums
  those in [t-W, t] (both ends included in Prometheus 2.x);
* ratios are errors/total, 0 without traffic; a tier's condition is both windows above
  `factor x budget`; it fires at the first evaluation `for` after it became true.

Everything is integer arithmetic (sums of arithmetic series), so a query costs O(1) and the
first firing evaluation is found by bisection: our scenarios (healthy, then a step up; or
steady) make every window's ratio non-decreasing in time. Exact rationals also expose
ties, where a float in Prometheus could land on either side of a threshold; callers move
their traffic off a tie.

promtool, running the generated tests against the real rules, is the check on this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .burnrate import BASE_RATE_WINDOW, Tier, is_recorded


@dataclass(frozen=True)
class Traffic:
    """Events per input sample of one group: `total` throughout; `errors_before` bad ones
    per sample up to `step_at` (seconds, a multiple of the sample interval), then
    `errors_after`."""

    total: int
    errors_before: int
    errors_after: int
    step_at: int = 0


@dataclass(frozen=True)
class Clock:
    sample: int  # seconds between input samples
    step: int  # evaluation interval, a multiple of `sample`


def _ramp_sum(offset: int, first: int, last: int, step: int) -> int:
    """sum of max(0, j*step - offset) for j in first..last."""
    low = max(first, offset // step + 1)
    if low > last:
        return 0
    count = last - low + 1
    return step * (low + last) * count // 2 - offset * count


class _Counter:
    """A counter that grows by `before` per sample up to `step_at`, then by `after`."""

    def __init__(self, before: int, after: int, step_at: int, sample: int) -> None:
        self.before, self.after, self.step_at, self.sample = before, after, step_at, sample

    def at(self, t: int) -> int:
        if t <= 0:
            return 0
        samples, until_step = t // self.sample, self.step_at // self.sample
        head = min(samples, until_step)
        return self.before * head + self.after * (samples - head)

    def grid_sum(self, shift: int, first: int, last: int, step: int) -> int:
        """sum of at(j*step - shift) for j in first..last, in O(1)."""
        ramps = self.before * _ramp_sum(shift, first, last, step) + (
            self.after - self.before
        ) * _ramp_sum(shift + self.step_at, first, last, step)
        return ramps // self.sample


class GroupModel:
    """The error ratio of one group over any window at any evaluation time."""

    def __init__(self, traffic: Traffic, clock: Clock) -> None:
        self.clock = clock
        self.total = _Counter(traffic.total, traffic.total, 0, clock.sample)
        self.errors = _Counter(
            traffic.errors_before, traffic.errors_after, traffic.step_at, clock.sample
        )

    def _recorded(self, counter: _Counter, t: int, window: int) -> int:
        """Sum over the recorded 5m increases at evaluations in [t - window, t], t > 0."""
        step = self.clock.step
        first, last = max(1, -(-(t - window) // step)), t // step
        if first > last:
            return 0
        return counter.grid_sum(0, first, last, step) - counter.grid_sum(
            BASE_RATE_WINDOW, first, last, step
        )

    def ratio(self, t: int, window: int) -> Fraction:
        if is_recorded(window):
            errors = self._recorded(self.errors, t, window)
            total = self._recorded(self.total, t, window)
        else:
            errors = self.errors.at(t) - self.errors.at(t - window)
            total = self.total.at(t) - self.total.at(t - window)
        return Fraction(errors, total) if total > 0 else Fraction(0)


class Tie(Exception):
    """A ratio sits within float noise of a threshold: the traffic must be moved."""


# A ratio closer than this (relative) to a threshold could compare either way in floats.
_NOISE = Fraction(1, 10**9)


def _first_true(model: GroupModel, window: int, threshold: Fraction, last: int) -> int | None:
    """Index of the first evaluation (1..last) where the ratio exceeds `threshold`."""
    low, high = 1, last + 1
    while low < high:
        mid = (low + high) // 2
        if model.ratio(mid * model.clock.step, window) > threshold:
            high = mid
        else:
            low = mid + 1
    for j in (low - 1, low):  # the evaluations on either side of the crossing
        if 1 <= j <= last:
            gap = abs(model.ratio(j * model.clock.step, window) - threshold)
            if gap <= threshold * _NOISE:
                raise Tie(f"ratio over {window}s is {threshold} at evaluation {j}")
    return low if low <= last else None


def fires_at(model: GroupModel, tier: Tier, budget: Fraction, until: int) -> int | None:
    """Time (seconds) of the first evaluation at which the tier's alert is firing, or None
    if it is not firing by `until`."""
    step = model.clock.step
    last = until // step
    threshold = Fraction(tier.factor) * budget
    starts = [_first_true(model, w, threshold, last) for w in (tier.long_window, tier.short_window)]
    if None in starts:
        return None
    active = max(s for s in starts if s is not None)
    fire = (active + -(-tier.for_ // step)) * step
    return fire if fire <= until else None


def burn_value(model: GroupModel, tier: Tier, budget: Fraction, t: int) -> Fraction:
    """The alert's `$value` at t: the long window's ratio over the budget."""
    return model.ratio(t, tier.long_window) / budget
