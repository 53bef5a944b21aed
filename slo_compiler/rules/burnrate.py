"""Burn-rate math: the one place that turns an objective and a period into alert windows,
burn factors and thresholds. Every target reads these numbers; none derives its own.

Multi-window, multi-burn-rate alerting as in the SRE workbook (chapter 5): a tier fires
when the error ratio over its long window AND over its short window (long / 12) both
exceed `factor x error budget`. For a 30-day period the workbook's four tiers spend 2%, 5%,
10% and 10% of the budget before they fire. For other periods we keep the factors (and so
the budget spent at detection) and scale the windows with the period, because what the
factor means ("the budget would be gone in period / factor") is what users reason with.

All arithmetic is Decimal: thresholds are written into rules as exact decimals (0.072,
never 0.07200000000000001), and equal inputs must give byte-equal output.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..base.durations import format_duration, parse_duration
from ..base.tiers import WORKBOOK_TIERS, TierDefault

REFERENCE_PERIOD = parse_duration("30d")
MINUTE = 60
# Rate windows need at least this many scrapes to see two samples through a missed scrape.
MIN_SCRAPES_PER_WINDOW = 4
DEFAULT_SCRAPE_INTERVAL = parse_duration("15s")
# The recorded base rate: the shortest window, the current burn, the SLI-missing alert.
BASE_RATE_WINDOW = parse_duration("5m")
# Every window of an event SLI is summed from recorded slices, so that only the fine
# slices read the raw counters: the samples a window reads per evaluation grow with the
# SLI's groups (group_by), not with its raw series (pods x uris x statuses;
# bench/rule_eval.py). A fine slice is the increase of the counters between two instants
# FINE_SLICE apart (longer for a service declared to be scraped less often: Slices),
# recorded every as long in a group of its own: consecutive slices telescope, so every
# increase between two scrapes is counted once whatever the real scrape interval is (1s or
# Alloy's 60s alike), where a rate() over a range sized for the declared interval is
# empty when the real one is longer. The 5m base rates and the windows shorter than
# RECORDED_WINDOW_MIN (the page tiers') sum them at every evaluation.
FINE_SLICE = parse_duration("30s")
# How many declared scrapes a fine slice lasts at least: fewer would only record zeros
# between scrapes.
SLICE_SCRAPES = 2
# A fine slice ends this long before its evaluation (at most; Slices.delay): a sample
# appended after the evaluation that follows its timestamp (a scrape still running, a
# remote-write batch in flight) would otherwise fall between two slices and count in
# neither.
SLICE_DELAY = parse_duration("15s")
# Windows of this length and above (for a 28d or 30d period: both ticket tiers' long
# windows and the period itself) sum coarse slices, each SLICE of fine ones, recorded
# every SLICE: a few minutes of lag is harmless on a window that fires after hours, and a
# 30d window reads 10,800 samples per series every 4m instead of 43,200 every minute.
RECORDED_WINDOW_MIN = parse_duration("12h")
# Under Prometheus' 5m lookback, so an instant query never finds the windows stale
# between evaluations.
SLICE = parse_duration("4m")
SLI_MISSING_FOR = parse_duration("10m")
# The scrape interval is measured over this many declared scrapes (at least SLICE): enough
# samples that one more or less at the range's ends barely moves the estimate.
SCRAPE_SAMPLE_SCRAPES = 8
# A measured interval this much over the declared one is a mismatch: jitter and one
# sample more or less at a range's end stay under it.
SCRAPE_MISMATCH = Decimal("1.5")
SCRAPE_MISMATCH_FOR = parse_duration("15m")


def scrape_span(declared: int) -> int:
    """The range the scrape interval is measured over: SCRAPE_SAMPLE_SCRAPES declared
    scrapes, and at least SLICE, which the measure's group runs every."""
    return max(SLICE, SCRAPE_SAMPLE_SCRAPES * declared)


# Prometheus' default rule evaluation interval; what explain's timings assume.
EVALUATION_INTERVAL = parse_duration("1m")


@dataclass(frozen=True)
class Tier:
    """One alert tier of one SLO, with every number already decided."""

    name: str
    severity: str
    long_window: int
    short_window: int
    factor: Decimal
    for_: int
    period: int

    def threshold(self, budget: Decimal) -> Decimal:
        """Error ratio above which both windows must be for the tier to fire."""
        return self.factor * budget

    @property
    def budget_spent(self) -> Decimal:
        """Fraction of the period's budget consumed when a burn at exactly `factor` fires."""
        return self.factor * self.long_window / self.period

    @property
    def window_label(self) -> str:
        return format_duration(self.long_window)


def _round_minutes(seconds: Decimal) -> int:
    """Nearest whole minute (0 for under 30s: such a window is refused, not stretched)."""
    return int((seconds / MINUTE).to_integral_value(rounding="ROUND_HALF_UP")) * MINUTE


def default_for(short_window: int) -> int:
    """Default `for:` of a tier: a fifth of its short window, in whole minutes (min 1m).

    The short window is what makes an alert stop soon after an outage ends; `for` only has
    to stop a single bad evaluation (a scrape gap, a counter reset) from paging, and a
    fifth of the short window does that while delaying detection by at most 20% of it.
    """
    return max(MINUTE, _round_minutes(Decimal(short_window) / 5))


@dataclass(frozen=True)
class TierOverride:
    """What an SLO file may change about one tier; None keeps the scaled workbook value."""

    enabled: bool = True
    long_window: int | None = None
    short_window: int | None = None
    factor: Decimal | None = None
    for_: int | None = None


@dataclass(frozen=True)
class WindowProblem:
    """A tier that cannot work. `field` is the override field at fault, or "period" when
    the scaled workbook windows themselves are too short."""

    tier: str
    field: str
    message: str


class WindowError(ValueError):
    """Every tier of an SLO that cannot work with its period and scrape interval, and the
    tiers that can (so that their own checks still run and report in the same pass)."""

    def __init__(self, problems: list[WindowProblem], tiers: list[Tier] | None = None) -> None:
        super().__init__("; ".join(f"tier {p.tier}: {p.message}" for p in problems))
        self.problems = problems
        self.tiers = tiers or []


def _windows(
    default: TierDefault, period: int, override: TierOverride
) -> tuple[int, int, str, str]:
    """(long window, short window, the field a short-window problem is the fault of, how
    the short window came about): the window the user wrote, or the one it was derived
    from (long / 12, as in the workbook), scaled from the 30d reference and rounded to
    minutes."""
    exact_long = default.long_window * Decimal(period) / REFERENCE_PERIOD
    long_window = override.long_window or _round_minutes(exact_long)
    if override.short_window:
        return long_window, override.short_window, "short_window", ""
    if override.long_window:
        return long_window, _round_minutes(Decimal(long_window) / 12), "long_window", ""
    exact = exact_long / 12
    scaled = f" ({format_duration(int(exact))} for a {format_duration(period)} period, rounded)"
    return long_window, _round_minutes(exact), "period", scaled if exact % MINUTE else ""


def _tier_problems(
    name: str, windows: tuple[int, int, str, str], period: int, scrape: int, wait: int | None
) -> list[WindowProblem]:
    """What makes a tier impossible: a short window of too few scrapes or not shorter than
    the long one, a long window over the period, a `for` as long as the period."""
    long_window, short_window, short_field, came = windows
    min_window = MIN_SCRAPES_PER_WINDOW * scrape
    problems = []
    if short_window < min_window:
        fix = "use a longer period" if short_field == "period" else "use a longer window"
        problems.append(
            WindowProblem(
                name,
                short_field,
                f"short window {format_duration(short_window)}{came} holds fewer than "
                f"{MIN_SCRAPES_PER_WINDOW} scrapes of {format_duration(scrape)} "
                f"(needs >= {format_duration(min_window)}); {fix}",
            )
        )
    elif short_window >= long_window:
        problems.append(
            WindowProblem(
                name,
                short_field,
                f"short window {format_duration(short_window)} is not shorter than the long "
                f"window {format_duration(long_window)}",
            )
        )
    if long_window > period:
        problems.append(
            WindowProblem(
                name,
                "long_window",
                f"long window {format_duration(long_window)} is longer than the period "
                f"{format_duration(period)}",
            )
        )
    if wait is not None and wait >= period:
        problems.append(
            WindowProblem(
                name,
                "for",
                f"for {format_duration(wait)} is not shorter than the period "
                f"{format_duration(period)}: the alert would wait longer than the budget lasts",
            )
        )
    return problems


def _plan_tier(
    default: TierDefault, period: int, scrape_interval: int, override: TierOverride
) -> Tier | list[WindowProblem]:
    windows = _windows(default, period, override)
    problems = _tier_problems(default.name, windows, period, scrape_interval, override.for_)
    if problems:
        return problems
    long_window, short_window = windows[0], windows[1]
    return Tier(
        default.name,
        default.severity,
        long_window,
        short_window,
        override.factor if override.factor is not None else default.factor,
        override.for_ if override.for_ is not None else default_for(short_window),
        period,
    )


def plan_tiers(
    period: int,
    scrape_interval: int = DEFAULT_SCRAPE_INTERVAL,
    overrides: dict[str, TierOverride] | None = None,
) -> list[Tier]:
    """The workbook tiers scaled to `period` (seconds), with the SLO's overrides applied
    and disabled tiers left out. Raises WindowError listing every tier that cannot work:
    a short window under MIN_SCRAPES_PER_WINDOW scrapes, a short window not shorter than
    its long window, or a long window beyond the period."""
    tiers = []
    problems: list[WindowProblem] = []
    for default in WORKBOOK_TIERS:
        override = (overrides or {}).get(default.name, TierOverride())
        if not override.enabled:
            continue
        planned = _plan_tier(default, period, scrape_interval, override)
        if isinstance(planned, Tier):
            tiers.append(planned)
        else:
            problems += planned
    if problems:
        raise WindowError(problems, tiers)
    return tiers


def error_budget(objective_percent: Decimal) -> Decimal:
    """Objective in percent -> allowed error ratio (99.5 -> 0.005)."""
    return (Decimal(100) - objective_percent) / 100


def to_decimal(value: float) -> Decimal:
    """The decimal the user wrote: repr() is the shortest string that round-trips, so
    99.9 becomes Decimal('99.9'), not the binary float's 99.900000000000005684..."""
    return Decimal(repr(value))


def decimal_str(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: 0.072, 14.4, 1, 100."""
    text = format(value.normalize(), "f")
    return text


def windows(tiers: list[Tier], period: int) -> list[int]:
    """Every window a ratio is recorded for: both windows of each tier, and the period."""
    return sorted({period, *(t.long_window for t in tiers), *(t.short_window for t in tiers)})


def is_recorded(window: int) -> bool:
    """Whether the ratio over `window` is summed from the coarse (SLICE) slices, in the
    slow group; shorter windows sum the fine slices at every evaluation."""
    return window >= RECORDED_WINDOW_MIN


# What a fine slice may last: the divisors of a minute, then of SLICE, so that slices tile
# both the minute and the coarse slices.
_FINE_LENGTHS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 240)


@dataclass(frozen=True)
class Slices:
    """The recorded slices an event SLI's windows are summed from."""

    fine: int  # a fine slice's length; recorded every as long
    scrape: int  # the service's declared scrape interval

    @property
    def delay(self) -> int:
        """How long before its evaluation a fine slice ends: SLICE_DELAY, or the scrape
        interval where that is shorter (a scrape lasts less than its interval: Prometheus
        caps its timeout there), so that a service scraped every second is not read 15s
        late."""
        return min(SLICE_DELAY, self.scrape)

    @property
    def reads(self) -> int:
        """How far back a fine slice reads: the counters at `delay` and at `delay + fine`
        before its evaluation."""
        return self.delay + self.fine

    @property
    def single(self) -> bool:
        """One level of slices: the fine ones are as long as the coarse ones."""
        return self.fine == SLICE

    def coarse_span(self, evaluation_interval: int) -> int:
        """How far back a coarse slice holds traffic in promtool, which runs every group
        at each step: its own fine slice and those of the evaluations within SLICE before
        it (Prometheus 2.x ranges include both ends); a single level, its own."""
        if self.single:
            return self.reads
        return SLICE // evaluation_interval * evaluation_interval + self.reads


def slices_for(
    scrape_interval: int = DEFAULT_SCRAPE_INTERVAL, windows: tuple[int, ...] = ()
) -> Slices:
    """The slices of a service scraped every `scrape_interval`. A fine slice is the
    shortest length of SLICE_SCRAPES scrapes or more that tiles SLICE and divides every
    window and the 5m base (else the shortest that holds the scrapes): short, because an
    alert sees a slice half a slice old on average; 30s at 15s, 1m at 30s, 2m at 1m, 2s at
    1s with a 10s window."""
    wanted = SLICE_SCRAPES * scrape_interval
    fitting = [s for s in _FINE_LENGTHS if s >= wanted] or [SLICE]
    fine = next(
        (s for s in fitting if all(w % s == 0 for w in (BASE_RATE_WINDOW, *windows))), fitting[0]
    )
    return Slices(fine, scrape_interval)


DEFAULT_SLICES = slices_for()


def effective_window(
    window: int,
    evaluation_interval: int = EVALUATION_INTERVAL,
    in_promtool: bool = False,
    slices: Slices | None = DEFAULT_SLICES,
) -> Decimal:
    """How much traffic a window's ratio weighs. In Prometheus a window of fine slices,
    read by the alerts' group at a phase of its own, holds window / fine tiles; a window
    of coarse slices, read in their own group, holds the slices at both ends of its range
    (Prometheus 2.x includes both): one SLICE more. In promtool every group runs at each
    step (it ignores a group's interval in unit tests), so a window holds a slice from
    each evaluation in its range, both ends included. `slices` None: a raw SLI, whose
    windows are its own expression."""
    if slices is None:
        return Decimal(window)
    if in_promtool:
        every = evaluation_interval
    elif is_recorded(window):
        every = SLICE
    else:
        return Decimal(window)
    return Decimal(every * (window // every + 1))


def lag(
    window: int,
    evaluation_interval: int = EVALUATION_INTERVAL,
    in_promtool: bool = False,
    slices: Slices | None = DEFAULT_SLICES,
) -> Decimal:
    """How far a window's ratio trails a step change, beyond the alert's own evaluation.
    In Prometheus each group of slices runs at a phase of its own: the alerts see fine
    slices fine / 2 old on average, each ending `delay` before its evaluation at the
    scrape before that, half a scrape earlier on average (37.5s for 30s slices at 15s);
    coarse ones SLICE / 2 older again. In promtool every group runs at each step, in
    order (_promtool_lag)."""
    if slices is None:
        return Decimal(0)
    if in_promtool:
        return _promtool_lag(window, evaluation_interval, slices)
    fine = Decimal(slices.fine + slices.scrape) / 2 + slices.delay
    if not is_recorded(window) or slices.single:
        return fine
    return fine + Decimal(SLICE) / 2


def _promtool_lag(window: int, step: int, slices: Slices) -> Decimal:
    """A window's lag in promtool, where every group runs at each step. The fine slice of
    evaluation j holds the traffic of (j x step - reads, j x step - delay]: after a step
    change, the slices of the k = ceil(reads / step) - 1 evaluations before `reads` hold
    it in part, (j x step - delay) / fine of it those past `delay`, so the window's share
    trails by step x (k - that sum). A coarse slice is the fine ones of its own and the
    SLICE // step steps before it: on average half of those steps older again."""
    k = -(-slices.reads // step) - 1
    partial = sum(
        (Decimal(max(0, j * step - slices.delay)) / slices.fine for j in range(1, k + 1)),
        Decimal(0),
    )
    fine = step * (k - partial)
    if is_recorded(window) and not slices.single:
        return fine + Decimal(SLICE // step * step) / 2
    return fine


def reach(window: int, evaluation_interval: int, slices: Slices | None = DEFAULT_SLICES) -> int:
    """How far back a window's ratio holds traffic in promtool, at evaluations every
    `evaluation_interval`: the window and the span of the slice at its old end."""
    if slices is None:
        return window
    if is_recorded(window):
        return window + slices.coarse_span(evaluation_interval)
    return window + slices.reads


@dataclass(frozen=True)
class Detection:
    """How a tier answers a constant burn rate that starts at time 0 (seconds)."""

    burn: Decimal
    detect: Decimal | None  # both windows above the threshold; None: never
    fires: Decimal | None  # detect + the tier's `for`
    budget_spent: Decimal | None  # share of the period's budget spent when it fires


def detection(
    tier: Tier,
    burn: Decimal,
    evaluation_interval: int = EVALUATION_INTERVAL,
    in_promtool: bool = False,
    slices: Slices | None = DEFAULT_SLICES,
) -> Detection:
    """The workbook's model, for the expressions we emit: after a step to burn rate `burn`
    (error ratio / budget) a window of length W holds the burn for t of its W seconds, so
    its ratio crosses `factor x budget` at W x factor / burn (a recorded window: its
    effective length and its lag, see above). Both windows must cross; the tier then fires
    after its `for`, at the first evaluation from then on. A burn at or below the factor
    never fires. `in_promtool`: the rules as promtool's unit tests run them; `slices`: the
    SLO's (`SloPlan.slices`), None for a raw SLI."""
    if burn <= tier.factor:
        return Detection(burn, None, None, None)
    detect = max(
        effective_window(window, evaluation_interval, in_promtool, slices) * tier.factor / burn
        + lag(window, evaluation_interval, in_promtool, slices)
        for window in (tier.long_window, tier.short_window)
    )
    fires = detect + tier.for_
    return Detection(burn, detect, fires, burn * fires / tier.period)
