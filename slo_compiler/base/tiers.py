"""The workbook's burn-rate tiers as names and defaults: what the SLO file's keys, the
routing checks and the importers name, and what burn-rate math (rules/burnrate.py)
scales to a period. Stated for the 30-day reference period."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .durations import parse_duration


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
# The tiers' names, written here only: the SLO file's keys, the alerts' slo_window
# neighbours, the importers' targets.
TIER_NAMES = tuple(t.name for t in WORKBOOK_TIERS)
FASTEST_PAGE = WORKBOOK_TIERS[0]
# The severity label each routing class's alerts carry unless the SLO file says otherwise.
SEVERITY_DEFAULTS = {"page": "critical", "ticket": "warning"}
# The label every SLO alert carries with its routing class (page or ticket), and the one
# a burn-rate alert carries with its tier's long window: what routing and inhibition match.
TIER_LABEL = "slo_tier"
WINDOW_LABEL = "slo_window"
ROUTING_CLASSES = tuple(SEVERITY_DEFAULTS)


def tiers_of(severity: str) -> tuple[str, ...]:
    """The names of the tiers of one routing class (page or ticket)."""
    return tuple(t.name for t in WORKBOOK_TIERS if t.severity == severity)
