"""A model of Prometheus 2.x evaluating our rules on synthetic traffic, in closed form.

The generated promtool tests need to know, before promtool runs, at which evaluation an
alert starts firing and what `$value` its annotations will show. Rather than interpret
PromQL, this models the few expression shapes planning emits, on counters that grow
linearly (piecewise: a step in the error rate at one instant):

* a fine slice at t, with samples every `sample` seconds from 0, is c(t - delay) -
  c(t - reads) (the latest samples at or before those instants; none before the series'
  first sample at 0);
* every group runs at each step, in order (promtool ignores a group's interval in unit
  tests; `group_eval_order`): the fine slices first, then the coarse
  ones (the fine slices in [t - SLICE, t]), then the windows: `sum_over_time(s[W])` sums
  the slices recorded at the evaluations in [t - W, t] (both ends included in Prometheus
  2.x), the 5m base and windows under 12h the fine ones, longer windows the coarse ones;
  a constant factor (rates, not counts; the mean's divisor) cancels in every ratio;
* ratios are errors/total, 0 without traffic; a tier's condition is both windows above
  `factor x budget`; it fires at the first evaluation `for` after it became true.

Everything is integer arithmetic (sums of arithmetic series), so a query costs O(1) and the
first firing evaluation is found by bisection: our scenarios (healthy then a step up,
steady, a burn then recovery) make every window's ratio rise, then fall, never rise
again. Exact rationals also expose ties, where a float in Prometheus could land on either
side of a threshold; callers move their traffic off a tie.

promtool, running the generated tests against the real rules, is the check on this model.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from ...rules.burnrate import DEFAULT_SLICES, SLICE, Slices, Tier, is_recorded


@dataclass(frozen=True)
class Traffic:
    """Events per input sample of one group: `total` throughout, and bad events per sample
    in phases: `errors[i] = (start, per_sample)`, starts ascending from 0 and multiples of
    the sample interval (healthy, then a step; or a burn, then recovery)."""

    total: int
    errors: tuple[tuple[int, int], ...]

    @classmethod
    def step(cls, total: int, before: int, after: int, at: int) -> Traffic:
        return cls(total, ((0, before), (at, after)))

    @classmethod
    def steady(cls, total: int, errors: int) -> Traffic:
        return cls(total, ((0, errors),))


@dataclass(frozen=True)
class Clock:
    sample: int  # seconds between input samples
    step: int  # evaluation interval, a multiple of `sample`
    slices: Slices = DEFAULT_SLICES  # the rules' (SloPlan.slices)


def _ramp_sum(offset: int, first: int, last: int, step: int) -> int:
    """sum of max(0, j*step - offset) for j in first..last."""
    low = max(first, offset // step + 1)
    if low > last:
        return 0
    count = last - low + 1
    return step * (low + last) * count // 2 - offset * count


class _Counter:
    """A counter from 0 growing by a per-sample amount that changes at given times: a sum
    of ramps, one per change, each starting at its change."""

    def __init__(self, phases: tuple[tuple[int, int], ...], sample: int) -> None:
        self.sample = sample
        self.ramps = []
        previous = 0
        for start, per_sample in phases:
            self.ramps.append((start, per_sample - previous))
            previous = per_sample

    def at(self, t: int) -> int:
        return sum(slope * (max(0, t - start) // self.sample) for start, slope in self.ramps)

    def grid_sum(self, shift: int, first: int, last: int, step: int) -> int:
        """sum of at(j*step - shift) for j in first..last, in O(1) per change."""
        return (
            sum(slope * _ramp_sum(shift + start, first, last, step) for start, slope in self.ramps)
            // self.sample
        )


class GroupModel:
    """The error ratio of one group over any window at any evaluation time."""

    def __init__(self, traffic: Traffic, clock: Clock) -> None:
        self.clock = clock
        self.total = _Counter(((0, traffic.total),), clock.sample)
        self.errors = _Counter(traffic.errors, clock.sample)

    def _fine(self, counter: _Counter, first: int, last: int) -> int:
        """Sum of the fine slices' increases at evaluations first..last: from the first
        whose earlier instant has a sample (at or after 0)."""
        step, slices = self.clock.step, self.clock.slices
        first = max(1, first, -(-slices.reads // step))
        if first > last:
            return 0
        return counter.grid_sum(slices.delay, first, last, step) - counter.grid_sum(
            slices.reads, first, last, step
        )

    def _window(self, counter: _Counter, t: int, window: int) -> int:
        """What a window's sum at t is made of, in events (scaled alike for both
        counters): its slices at the evaluations in [t - window, t]; a coarse slice at
        evaluation j is the fine ones at j - SLICE // step .. j."""
        step = self.clock.step
        first, last = -(-(t - window) // step), t // step
        if not is_recorded(window) or self.clock.slices.single:
            return self._fine(counter, first, last)
        return sum(
            self._fine(counter, max(1, first) - back, last - back)
            for back in range(SLICE // step + 1)
        )

    def counts(self, t: int, window: int) -> tuple[int, int]:
        """(bad, all) events the ratio over `window` at t is made of (scaled alike)."""
        return self._window(self.errors, t, window), self._window(self.total, t, window)

    def ratio(self, t: int, window: int) -> Fraction:
        errors, total = self.counts(t, window)
        return Fraction(errors, total) if total > 0 else Fraction(0)


class Tie(Exception):
    """A ratio sits within float noise of a threshold: the traffic must be moved."""


# A ratio closer than 1 / _NOISE (relative) to a threshold could compare either way in
# floats.
_NOISE = 10**9


def _exceeds(errors: int, total: int, threshold: Fraction) -> bool:
    """errors/total > threshold, in integers (the hot path): errors*den > num*total."""
    return total > 0 and errors * threshold.denominator > threshold.numerator * total


def _above(model: GroupModel, window: int, threshold: Fraction, j: int) -> bool:
    """Whether the ratio over `window` exceeds `threshold` at evaluation j (raises Tie)."""
    errors, total = model.counts(j * model.clock.step, window)
    gap = abs(errors * threshold.denominator - threshold.numerator * total)
    if total > 0 and gap * _NOISE <= threshold.numerator * total:
        raise Tie(f"ratio over {window}s is {threshold} at evaluation {j}")
    return _exceeds(errors, total, threshold)


def _first_true(model: GroupModel, window: int, threshold: Fraction, last: int) -> int | None:
    """Index of the first evaluation (1..last) where the ratio exceeds `threshold`, by
    bisection: the ratio must not decrease over 1..last."""
    low, high = 1, last + 1
    while low < high:
        mid = (low + high) // 2
        if _exceeds(*model.counts(mid * model.clock.step, window), threshold):
            high = mid
        else:
            low = mid + 1
    for j in (low - 1, low):  # the evaluations on either side of the crossing
        if 1 <= j <= last:
            _above(model, window, threshold, j)
    return low if low <= last else None


def _active_since(model: GroupModel, tier: Tier, threshold: Fraction, t: int) -> int | None:
    """Index of the evaluation since which the tier's condition has held unbroken at t,
    or None if it does not hold at t. Each window's ratio rises, then falls (never up
    again): so the evaluations where it exceeds the threshold form one interval, and
    up to t, inside that interval, "exceeds" is monotone and bisection finds its start."""
    last = t // model.clock.step
    windows = (tier.long_window, tier.short_window)
    if not all([_above(model, w, threshold, last) for w in windows]):
        return None
    starts = [_first_true(model, w, threshold, last) for w in windows]
    return max(s for s in starts if s is not None)


def _evaluations(seconds: int, step: int) -> int:
    return -(-seconds // step)


def fires_at(model: GroupModel, tier: Tier, budget: Fraction, until: int) -> int | None:
    """Time (seconds) of the first evaluation at which the tier's alert is firing, or None
    if it is not firing by `until`; ratios must not decrease up to `until`."""
    step = model.clock.step
    active = _active_since(model, tier, Fraction(tier.factor) * budget, until)
    if active is None:
        return None
    fire = (active + _evaluations(tier.for_, step)) * step
    return fire if fire <= until else None


def is_firing(model: GroupModel, tier: Tier, budget: Fraction, t: int) -> bool:
    """Whether the tier's alert is firing at evaluation time t."""
    step = model.clock.step
    active = _active_since(model, tier, Fraction(tier.factor) * budget, t)
    return active is not None and t // step - active >= _evaluations(tier.for_, step)


def burn_value(model: GroupModel, tier: Tier, budget: Fraction, t: int) -> Fraction:
    """The alert's `$value` at t: the long window's ratio over the budget."""
    return model.ratio(t, tier.long_window) / budget


# Memoized forms for the test generator: SLOs of one shape (a fleet of 99.9% 30d
# availability SLOs) share every scenario's numbers, and the model is pure. Bounded, as a
# compile of thousands of distinct SLOs must not hold them all.
_MEMO = 1 << 13


@lru_cache(maxsize=_MEMO)
def burn_if_firing(
    traffic: Traffic, clock: Clock, tier: Tier, budget: Fraction, t: int
) -> Fraction | None:
    """The tier's `$value` at evaluation time t if its alert is firing then, else None."""
    model = GroupModel(traffic, clock)
    return burn_value(model, tier, budget, t) if is_firing(model, tier, budget, t) else None


@lru_cache(maxsize=_MEMO)
def first_firing(
    traffic: Traffic, clock: Clock, tier: Tier, budget: Fraction, until: int
) -> int | None:
    """fires_at for this traffic and clock."""
    return fires_at(GroupModel(traffic, clock), tier, budget, until)
