"""SLI definitions -> the queries planning builds rules from.

Ratio and latency SLIs become counters of events (`EventSli`): knowing the event counts,
not just a ratio, is what lets long windows be event-weighted and grouping be exact.
Raw SLIs stay an opaque error-ratio template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..base.durations import format_duration
from ..diagnostics import Code
from ..source.model import Sli
from .burnrate import SLICE, is_recorded
from .promql import Matcher, PromQLError, Selector, parse_selector, validate

WINDOW_PLACEHOLDER = "{{window}}"
_PLACEHOLDER_RE = re.compile(r"\{\{\s*window\s*\}\}")
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


class SliKind(Protocol):
    """What the planner asks of an SLI, whatever its kind: a new kind is one class with
    these methods (the counters of EventSli, the expression of RawTemplate).

    * `kind`: how messages name it ("a raw SLI's events cannot be counted");
    * `counters`: the counters its events are counted from (what the live checks count,
      look for and the generated tests synthesise; None: a kind whose events cannot be
      counted, which those report as such);
    * `written`: the PromQL the file gives for its ratio (None: built here from counters);
    * `slices(build)`: the recording rules that read the raw series, (metric, expr, every);
    * `ratio(build, window)`: the error ratio over a window;
    * `every(window, period, alerted)`: the interval its window's ratio is recorded at
      (None: at every evaluation; `alerted`: an alert reads the window);
    * `scrape_measure(build, declared)`: the recorded measure of its scrape interval;
    * `missing(build, shortest)`: the absent() that says its series are missing, and the
      metrics it names (None: only the recorded ratio can say)."""

    kind: ClassVar[str]

    @property
    def counters(self) -> EventSli | None: ...
    @property
    def written(self) -> str | None: ...
    def slices(self, build: Any) -> list[tuple[str, str, int | None]]: ...
    def ratio(self, build: Any, window: int) -> str: ...
    def every(self, window: int, period: int, alerted: bool) -> int | None: ...
    def scrape_measure(self, build: Any, declared: int) -> tuple[str, str] | None: ...
    def missing(self, build: Any, shortest: int) -> tuple[str, str | None]: ...


@dataclass(frozen=True)
class EventSli:
    """Counters: all events, and either the bad or the good ones."""

    kind: ClassVar[str] = "ratio or latency"

    total: Selector
    errors: Selector | None = None
    good: Selector | None = None
    le: tuple[str, ...] = ()  # latency SLIs: the spellings of the bucket boundary matched

    def presence(self) -> tuple[Selector, ...]:
        """What must have series for the SLI to be seen at all: the total, and each other
        metric it reads with only the matchers it shares with the total. The bad (or
        good) events' own matchers (`status=~"5.."`, `le="300"`) may match nothing until
        the first such event: no error yet is not a missing SLI, while a misspelt metric
        name or a histogram without buckets is."""
        found = [self.total]
        for other in (self.errors, self.good):
            # Of the total's metric, the shared matchers pick a superset of the total's
            # series: there whenever the total is.
            if other is None or other.metric == self.total.metric:
                continue
            shared = tuple(m for m in other.matchers if m in self.total.matchers)
            if Selector(other.metric, shared) not in found:
                found.append(Selector(other.metric, shared))
        return tuple(found)

    @property
    def counters(self) -> EventSli:
        return self

    @property
    def written(self) -> None:
        return None

    def slices(self, build: Any) -> list[tuple[str, str, int | None]]:
        return build.event_slices(self)

    def ratio(self, build: Any, window: int) -> str:
        return build.event_ratio(window)

    def every(self, window: int, period: int, alerted: bool) -> int | None:
        """The long windows are summed in the slices' group."""
        return SLICE if is_recorded(window) else None

    def scrape_measure(self, build: Any, declared: int) -> tuple[str, str] | None:
        return build.event_scrape_interval(self, declared)

    def missing(self, build: Any, shortest: int) -> tuple[str, str | None]:
        """Each metric it reads absent (with only the matchers shared with the total)."""
        read = self.presence()
        absent = "\nor ".join(f"absent({s.render()})" for s in read)
        return absent, ", ".join(sorted({s.metric for s in read}))


@dataclass(frozen=True)
class RawTemplate:
    """A raw SLI's error-ratio expression, its window still a placeholder (the model's
    RawSli is what the file says; this is what planning renders per window)."""

    template: str
    kind: ClassVar[str] = "raw"

    @property
    def counters(self) -> None:
        return None

    @property
    def written(self) -> str:
        return self.template

    def at(self, window: str) -> str:
        return _PLACEHOLDER_RE.sub(window, self.template)

    def slices(self, build: Any) -> list[tuple[str, str, int | None]]:
        return []

    def ratio(self, build: Any, window: int) -> str:
        return self.at(format_duration(window))

    def every(self, window: int, period: int, alerted: bool) -> int | None:
        """The period in the slow group, unless an alert reads it."""
        return SLICE if window == period and not alerted else None

    def scrape_measure(self, build: Any, declared: int) -> tuple[str, str] | None:
        return None

    def missing(self, build: Any, shortest: int) -> tuple[str, str | None]:
        return f"absent({build.window_ratio(shortest)})", None


SliQuery = EventSli | RawTemplate


class SliError(ValueError):
    """Problems in one SLI, each with the field path (relative to `sli`) it belongs to."""

    def __init__(self, problems: list[tuple[tuple[str, ...], PromQLError]]) -> None:
        super().__init__("; ".join(str(err) for _, err in problems))
        self.problems = problems


def le_spellings(threshold: float) -> list[str]:
    """How a bucket boundary may be written in `le`: Micrometer and older client libraries
    write 300 as "300.0", Prometheus 3 normalises it to "300"; both must match."""
    if threshold.is_integer():
        return [str(int(threshold)), f"{int(threshold)}.0"]
    return [repr(threshold)]


Problems = list[tuple[tuple[str, ...], PromQLError]]


def _selector(path: tuple[str, ...], text: str, problems: Problems) -> Selector | None:
    try:
        return parse_selector(text)
    except PromQLError as err:
        problems.append((path, err))
        return None


def _latency(histogram: Selector, threshold: float, problems: Problems) -> EventSli | None:
    """A histogram under a threshold as counters: its _count, and the _bucket at the
    threshold (every spelling of the boundary Prometheus clients write)."""
    if histogram.metric.endswith(_HISTOGRAM_SUFFIXES):
        problems.append(
            (
                ("latency", "histogram"),
                PromQLError(
                    Code.NOT_A_SELECTOR,
                    f"name the histogram without its suffix: '{histogram.metric}' ends "
                    f"in {histogram.metric.rsplit('_', 1)[1]!r}; the compiler adds _bucket "
                    "and _count",
                ),
            )
        )
        return None
    spellings = le_spellings(threshold)
    le = "|".join(re.escape(s) for s in spellings)
    return EventSli(
        total=histogram.with_metric(histogram.metric + "_count"),
        good=histogram.with_metric(histogram.metric + "_bucket").with_matcher(
            Matcher("le", "=~", le)
        ),
        le=tuple(spellings),
    )


def _raw(template: str, problems: Problems) -> RawTemplate | None:
    """An expression with the window's placeholder, valid at any window."""
    if not _PLACEHOLDER_RE.search(template):
        problems.append(
            (
                ("raw", "error_ratio"),
                PromQLError(
                    Code.RAW_PLACEHOLDER,
                    f"the expression must use {WINDOW_PLACEHOLDER} where the window goes, "
                    f"e.g. rate(errors[{WINDOW_PLACEHOLDER}])",
                ),
            )
        )
        return None
    raw = RawTemplate(template)
    try:
        validate(raw.at("5m"))
    except PromQLError as err:
        problems.append((("raw", "error_ratio"), err))
        return None
    return raw


def resolve(sli: Sli) -> SliQuery:
    """Parse and check every selector of an SLI; raise SliError with all problems."""
    problems: Problems = []
    query: SliQuery | None = None
    if sli.ratio is not None:
        total = _selector(("ratio", "total"), sli.ratio.total, problems)
        errors = sli.ratio.errors and _selector(("ratio", "errors"), sli.ratio.errors, problems)
        good = sli.ratio.good and _selector(("ratio", "good"), sli.ratio.good, problems)
        if total and (errors or good):
            query = EventSli(total=total, errors=errors or None, good=good or None)
    elif sli.latency is not None:
        histogram = _selector(("latency", "histogram"), sli.latency.histogram, problems)
        query = histogram and _latency(histogram, sli.latency.threshold, problems)
    elif sli.raw is not None:
        query = _raw(sli.raw.error_ratio, problems)
    if problems:
        raise SliError(problems)
    assert query is not None  # the model guarantees exactly one kind
    return query
