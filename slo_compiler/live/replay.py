"""Replaying an alert over history: Prometheus' `for` applied to a condition's evaluations.

A rule evaluates at every interval; where its condition holds the alert is pending from
that evaluation on, and fires at the first evaluation at least `for` later while it still
holds; one evaluation where it does not resets it. A range query at the evaluation
interval returns the steps where the condition holds, so the alert's history is that
state machine run over the step grid (a missing step is a false one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Prometheus refuses range queries of more than 11,000 points per series.
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Episode:
    """One stretch of the condition holding: pending from `start`, firing from `fired`
    (None if it ended first), until `end` (the first evaluation it no longer held, or
    None if it still held at the last one)."""

    start: float
    fired: float | None
    end: float | None


def grid(start: float, end: float, step: float) -> list[float]:
    """The evaluation times in [start, end], aligned to multiples of `step` as a rule
    group's evaluations are (up to Prometheus' per-group offset)."""
    first = math.ceil(start / step) * step
    return [first + i * step for i in range(int((end - first) // step) + 1)]


def chunks(start: float, end: float, step: float) -> list[tuple[float, float]]:
    """[start, end] cut into ranges of at most MAX_POINTS steps, for range queries."""
    out = []
    times = grid(start, end, step)
    for i in range(0, len(times), MAX_POINTS):
        part = times[i : i + MAX_POINTS]
        out.append((part[0], part[-1]))
    return out


def episodes(times: list[float], holds: set[float], for_: float) -> list[Episode]:
    """The alert's episodes over the evaluations `times`, the condition holding at `holds`."""
    out: list[Episode] = []
    pending: float | None = None
    fired: float | None = None
    for t in times:
        if t in holds:
            if pending is None:
                pending = t
            if fired is None and t - pending >= for_:
                fired = t
        elif pending is not None:
            out.append(Episode(pending, fired, t))
            pending = fired = None
    if pending is not None:
        out.append(Episode(pending, fired, None))
    return out
