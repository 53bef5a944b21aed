"""Was the SLI seen through a window? The part of a verdict that says what we could see.

A counter's increase over a window says nothing about the stretch in it when nobody was
scraping: an app that crashed half-way through a load test leaves a window whose scraped
half is healthy. So, per target that exported the SLI's series (`job`, `instance`):

* `up`: a stretch where every scrape of the target failed is a gap of that target (the
  target is down: its requests failed where the server could not count them);
* the series themselves: a stretch where no target had a sample of the SLI, and none was
  up, is a gap of the SLI (every target gone, a federation or remote-write hole, data that
  is not there);
* counter resets: a process restarted, and the events of its last seconds are lost.

"Seen at t" means a sample (or a successful scrape) in the `reach` before t: two and a half
scrape intervals, so one missed scrape is jitter, not a gap; the window is looked at every
`step`, which is the resolution of the gaps' times. A target that leaves service discovery
(a replaced pod: its `up` disappears while another target carries the SLI) is no gap.

verify (the load-test gate) and backtest (history) share this code; verify fails on a gap,
backtest lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..rules.promql import Matcher, Selector, regex_literal
from .client import Client, Labels
from .replay import MAX_POINTS

TARGET = ("job", "instance")
# One missed scrape is jitter; a sample older than this many intervals is a hole.
REACH_SCRAPES = 2.5


@dataclass(frozen=True)
class Gap:
    """A stretch of the window without data: `target` is a scraped target, or None for the
    SLI's series as a whole."""

    target: Labels | None
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def document(self) -> dict[str, Any]:
        """The JSON form every report shares."""
        return {"target": self.target, "from": self.start, "to": self.end}

    def describe(self) -> str:
        if self.target is None:
            return "no target had series of the SLI"
        instance, job = self.target.get("instance", ""), self.target.get("job", "")
        return f"target {instance or '?'} (job {job or '?'}) was down (its scrapes failed)"


@dataclass
class Coverage:
    gaps: list[Gap] = field(default_factory=list)
    resets: list[tuple[Labels, int]] = field(default_factory=list)

    def reset_notes(self) -> list[str]:
        """Each target whose counters reset, as every live report says it."""
        return [
            f"counter reset {count}x on target {target.get('instance') or '?'} "
            f"(job {target.get('job') or '?'}): a process restarted, and the events of its "
            "last seconds before that are not counted"
            for target, count in self.resets
        ]

    targets: int = 0


def step_s(seconds: float) -> float:
    """A step in whole milliseconds (see _times)."""
    return max(1, round(seconds * 1000)) / 1000


def duration_ms(seconds: float) -> str:
    """A PromQL range in whole milliseconds (fractions of a second are common here)."""
    return f"{max(1, round(seconds * 1000))}ms"


def _key(labels: Labels) -> tuple[str, str]:
    return (labels.get("job", ""), labels.get("instance", ""))


def _times(start: float, end: float, step: float) -> list[float]:
    """The steps of [start, end], the last at `end`: what is seen up to the window's end.
    Whole milliseconds, as Prometheus counts a range query's steps: in floats, start plus
    the steps can pass `end` by a rounding error, and the server drops that last step."""
    end_ms, step_ms = round(end * 1000), max(1, round(step * 1000))
    count = (end_ms - round(start * 1000)) // step_ms + 1
    return [(end_ms - (count - 1 - i) * step_ms) / 1000 for i in range(count)]


def sampled(
    client: Client, expr: str, times: list[float], step: float
) -> Iterator[tuple[Labels, dict[int, float]]]:
    """`expr` at `times` (evenly `step` apart), in range queries under the server's point
    limit: per series and query, its values by the index of their step in `times`."""
    for i in range(0, len(times), MAX_POINTS):
        part = times[i : i + MAX_POINTS]
        for labels, values in client.query_range(expr, part[0], part[-1], step_s(step)):
            yield labels, {round((t - times[0]) / step): v for t, v in values}


def _by_target(
    client: Client, expr: str, times: list[float], step: float
) -> dict[tuple[str, str], dict[int, float]]:
    """Per target, the value of `expr` at each step index of `times`."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for labels, values in sampled(client, expr, times, step):
        out.setdefault(_key(labels), {}).update(values)
    return out


def up_selector(targets: list[tuple[str, str]]) -> Selector:
    """`up` of these (job, instance) targets (and, rarely, of other pairs of their jobs
    and instances: callers keep the pairs they asked for)."""
    matchers = tuple(
        Matcher(name, "=~", "|".join(sorted({regex_literal(k[i]) for k in targets})))
        for i, name in enumerate(TARGET)
    )
    return Selector("up", matchers)


def _stretches(missing: list[bool]) -> list[tuple[int, int]]:
    """[first, last] step indexes of each run of True."""
    out, opened = [], None
    for i, miss in enumerate([*missing, False]):
        if miss and opened is None:
            opened = i
        elif not miss and opened is not None:
            out.append((opened, i - 1))
            opened = None
    return out


def coverage(
    client: Client,
    selector: Selector,
    start: float,
    end: float,
    scrape_interval: float,
    step: float,
) -> Coverage:
    """The gaps and counter resets of `selector`'s data over [start, end]."""
    reach = max(REACH_SCRAPES * scrape_interval, step)
    sel = selector.render()
    by = ", ".join(TARGET)
    times = _times(start, end, step)
    steps = len(times)
    present = _by_target(
        client, f"count by ({by}) (count_over_time({sel}[{duration_ms(reach)}]))", times, step
    )
    named = [k for k in present if any(k)]
    up = (
        _by_target(
            client,
            f"max by ({by}) (max_over_time({up_selector(named).render()}[{duration_ms(reach)}]))",
            times,
            step,
        )
        if named
        else {}
    )
    up = {k: v for k, v in up.items() if k in present}

    def begin(index: int) -> float:
        # Not seen at this step: the last sample is at least `reach` old, so the first
        # one missing was due a scrape interval after that.
        return start if index == 0 else max(start, times[index] - reach + scrape_interval)

    def finish(index: int) -> float:
        return times[index + 1] if index + 1 < steps else end

    result = Coverage(targets=len(present))
    down: set[int] = set()
    for key in sorted(up):
        missing = [up[key].get(i) == 0 for i in range(steps)]
        labels = dict(zip(TARGET, key, strict=True))
        for a, b in _stretches(missing):
            result.gaps.append(Gap(labels, begin(a), finish(b)))
            down.update(range(a, b + 1))
    seen = [
        any(i in present[k] for k in present) or any(up[k].get(i) == 1 for k in up)
        for i in range(steps)
    ]
    for a, b in _stretches([not s for s in seen]):
        if not set(range(a, b + 1)) <= down:
            result.gaps.append(Gap(None, begin(a), finish(b)))
    result.gaps.sort(key=lambda g: (g.start, g.target is not None))
    window = duration_ms(max(end - start, 1))
    for labels, count in client.query(f"sum by ({by}) (resets({sel}[{window}]))", end):
        if count > 0:
            result.resets.append(({k: labels.get(k, "") for k in TARGET}, int(count)))
    return result
