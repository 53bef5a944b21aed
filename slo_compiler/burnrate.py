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

from .durations import format_duration, parse_duration

REFERENCE_PERIOD = parse_duration("30d")
MINUTE = 60
# Rate windows need at least this many scrapes to see two samples through a missed scrape.
MIN_SCRAPES_PER_WINDOW = 4
DEFAULT_SCRAPE_INTERVAL = parse_duration("15s")
# The base rate that long windows are built from (sum_over_time of recorded 5m rates).
BASE_RATE_WINDOW = parse_duration("5m")
# Windows of this length and above (for a 28d or 30d period: both ticket tiers' long
# windows and the period itself) are derived from the recorded base rates instead of
# rate() over raw samples: a few minutes of lag is harmless on a window that fires after
# hours, and it spares Prometheus from reading days of raw samples every evaluation.
RECORDED_WINDOW_MIN = parse_duration("12h")
SLI_MISSING_FOR = parse_duration("10m")


@dataclass(frozen=True)
class TierDefault:
    """A row of the workbook table, stated for the 30-day reference period."""

    name: str
    severity: str  # "page" or "ticket": which routing class the alert belongs to
    long_window: int  # seconds, for a 30d period
    factor: Decimal


WORKBOOK_TIERS = (
    TierDefault("page-fast", "page", parse_duration("1h"), Decimal("14.4")),
    TierDefault("page-slow", "page", parse_duration("6h"), Decimal("6")),
    TierDefault("ticket-fast", "ticket", parse_duration("1d"), Decimal("3")),
    TierDefault("ticket-slow", "ticket", parse_duration("3d"), Decimal("1")),
)


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


class WindowError(ValueError):
    """A tier whose windows cannot work with this period and scrape interval."""


def plan_tiers(period: int, scrape_interval: int = DEFAULT_SCRAPE_INTERVAL) -> list[Tier]:
    """The workbook tiers scaled to `period` (seconds). Raises WindowError listing every
    tier whose short window would hold fewer than MIN_SCRAPES_PER_WINDOW scrapes."""
    tiers = []
    problems = []
    scale = Decimal(period) / REFERENCE_PERIOD
    min_window = MIN_SCRAPES_PER_WINDOW * scrape_interval
    for default in WORKBOOK_TIERS:
        exact_long = default.long_window * scale
        long_window = _round_minutes(exact_long)
        short_window = _round_minutes(exact_long / 12)
        if short_window < min_window:
            problems.append(
                f"tier {default.name}: short window {format_duration(short_window)} holds fewer "
                f"than {MIN_SCRAPES_PER_WINDOW} scrapes of {format_duration(scrape_interval)} "
                f"(needs >= {format_duration(min_window)}); use a longer period"
            )
            continue
        tiers.append(
            Tier(
                default.name,
                default.severity,
                long_window,
                short_window,
                default.factor,
                default_for(short_window),
                period,
            )
        )
    if problems:
        raise WindowError("; ".join(problems))
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


def detection_time(tier: Tier, burn: Decimal) -> Decimal | None:
    """Seconds until a constant burn rate `burn` (error ratio / budget) trips the tier's long
    window, or None if it never does. The short window, being shorter, trips first."""
    if burn <= tier.factor:
        return None
    return tier.long_window * tier.factor / burn
