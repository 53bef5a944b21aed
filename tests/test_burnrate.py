"""The burn-rate numbers against the SRE workbook (chapter 5, table 5-8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from slo_compiler.base.durations import format_duration, parse_duration
from slo_compiler.rules import burnrate
from slo_compiler.rules.burnrate import (
    TierOverride,
    WindowError,
    decimal_str,
    detection,
    error_budget,
    plan_tiers,
    to_decimal,
)

D30 = parse_duration("30d")
D28 = parse_duration("28d")


def table(period: int) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            t.name,
            format_duration(t.long_window),
            format_duration(t.short_window),
            decimal_str(t.factor),
            decimal_str(t.budget_spent * 100),
        )
        for t in plan_tiers(period)
    ]


def test_30d_reproduces_the_workbook_table() -> None:
    assert table(D30) == [
        ("page-fast", "1h", "5m", "14.4", "2"),
        ("page-slow", "6h", "30m", "6", "5"),
        ("ticket-fast", "1d", "2h", "3", "10"),
        ("ticket-slow", "3d", "6h", "1", "10"),
    ]


def test_28d_scales_windows_and_keeps_factors() -> None:
    rows = table(D28)
    assert [r[1:4] for r in rows] == [
        ("56m", "5m", "14.4"),  # 4m40s rounds to 5m
        ("5h36m", "28m", "6"),
        ("22h24m", "1h52m", "3"),
        ("2d19h12m", "5h36m", "1"),
    ]
    # Windows are exact multiples of a minute here, so the budget spent is the workbook's.
    assert [r[4] for r in rows] == ["2", "5", "10", "10"]


def test_thresholds_are_exact_decimals() -> None:
    budget = error_budget(to_decimal(99.5))
    assert [decimal_str(t.threshold(budget)) for t in plan_tiers(D30)] == [
        "0.072",
        "0.03",
        "0.015",
        "0.005",
    ]
    assert decimal_str(error_budget(to_decimal(99.9))) == "0.001"
    assert decimal_str(error_budget(to_decimal(99.95))) == "0.0005"


def test_detection_time_of_a_total_outage_of_a_999_slo() -> None:
    page_fast = plan_tiers(D30)[0]
    burn = 1 / error_budget(to_decimal(99.9))  # every event fails: burn rate 1000
    d = detection(page_fast, burn)
    # 1h x 14.4 / 1000, plus the fine slices' 37.5s of lag (their group's phase, 15s on
    # average; a slice ends 15s before its evaluation, at the scrape half a scrape before)
    assert d.detect == Decimal("89.34")
    assert d.fires == Decimal("149.34")  # plus `for: 1m`
    raw = detection(page_fast, burn, slices=None)  # a raw SLI's windows are its expression
    assert raw.detect == Decimal("51.84")


@pytest.mark.parametrize("burn", ["14.4", "10", "1"])
def test_burn_at_or_below_the_factor_never_fires(burn: str) -> None:
    d = detection(plan_tiers(D30)[0], Decimal(burn))
    assert (d.detect, d.fires, d.budget_spent) == (None, None, None)


def test_a_double_factor_burn_is_detected_after_half_the_long_window() -> None:
    tier = plan_tiers(D30)[0]
    assert detection(tier, Decimal("28.8")).detect == 1800 + 37.5  # + the fine slices' lag


def test_sliced_long_windows_weigh_one_more_slice_and_trail_by_half_of_one() -> None:
    ticket_fast = plan_tiers(D30)[2]  # 1d from 4m slices of 30s ones, 2h from the 30s ones
    # SLICE / 2 + (FINE_SLICE + a scrape) / 2 + SLICE_DELAY: the two slice groups'
    # phases, the delay, and the scrape before it half a scrape earlier
    assert burnrate.lag(ticket_fast.long_window) == 157.5
    assert burnrate.lag(ticket_fast.short_window) == 37.5
    # (1d + 4m) x 3 / 6 + 2m37.5s
    assert detection(ticket_fast, Decimal("6")).detect == (86400 + 240) / 2 + 157.5
    # promtool records the slices at every step, with the alerts: a fine slice reading
    # 45s back is whole at a 1m step, a coarse slice holds the fine ones of 5 steps (4m /
    # 2 late, one step more traffic), its own alone from 4m on (no lag).
    assert burnrate.lag(ticket_fast.short_window, 60, in_promtool=True) == 0
    assert burnrate.lag(ticket_fast.long_window, 60, in_promtool=True) == 120
    assert detection(ticket_fast, Decimal("6"), 60, True).detect == (86400 + 60) / 2 + 120
    # A fine slice reading back more than a step takes a change in over two steps: at
    # 30s, the slice one step after it holds (30 - 15) / 30 of it: 30 x (1 - 1/2) late.
    assert burnrate.lag(ticket_fast.short_window, 30, in_promtool=True) == 15
    assert burnrate.lag(ticket_fast.long_window, 720, in_promtool=True) == 0


@pytest.mark.parametrize(
    ("scrape", "windows", "fine"),
    [
        ("10s", "1h 5m", "20s"),
        ("15s", "1h 5m", "30s"),
        ("20s", "1h 5m", "1m"),  # 40s: the next length that tiles the minute
        ("30s", "1h 5m", "1m"),
        ("1m", "1h 5m", "2m"),
        ("2m", "1h 10m", "4m"),  # one level of slices
        ("1s", "2m 10s", "2s"),
        ("1s", "2m 7s", "2s"),  # nothing divides 7s: the shortest that holds the scrapes
    ],
)
def test_fine_slices_hold_two_scrapes_and_tile_the_windows(
    scrape: str, windows: str, fine: str
) -> None:
    spans = tuple(parse_duration(w) for w in windows.split())
    slices = burnrate.slices_for(parse_duration(scrape), spans)
    assert slices.fine == parse_duration(fine)
    # the counters at the slice's two ends, SLICE_DELAY (or a scrape, if shorter) before
    # its evaluation
    delay = min(15, parse_duration(scrape))
    assert (slices.delay, slices.reads) == (delay, parse_duration(fine) + delay)


def test_a_single_level_of_slices_lags_by_the_coarse_phase_alone() -> None:
    # A service scraped every 2m: 4m slices, reading back 4m15s.
    four = burnrate.slices_for(parse_duration("2m"))
    assert (four.fine, four.reads, four.single) == (240, 255, True)
    ticket_fast = plan_tiers(D30)[2]
    assert burnrate.lag(ticket_fast.long_window, slices=four) == 195
    assert burnrate.lag(ticket_fast.short_window, slices=four) == 195
    # 60 x (4 - (45 + 105 + 165 + 225) / 240): four steps of a change coming in
    assert burnrate.lag(ticket_fast.long_window, 60, in_promtool=True, slices=four) == 105


def test_page_tiers_detect_having_spent_the_workbook_share_whatever_the_burn() -> None:
    """A tier has spent factor x long / period of the budget when it detects a burn,
    whatever the burn: 2% and 5% for the page tiers at 30d; plus what the burn spends in
    the fine slices' 37.5s of lag."""
    for tier, share in zip(plan_tiers(D30)[:2], ("0.02", "0.05"), strict=True):
        for burn in (Decimal(15), Decimal(100), Decimal(1000)):
            d = detection(tier, burn)
            assert d.detect is not None
            assert burn * (d.detect - Decimal("37.5")) / D30 == Decimal(share)


def test_tier_overrides() -> None:
    tiers = plan_tiers(
        D30,
        overrides={
            "page-fast": TierOverride(long_window=7200, factor=Decimal("10"), for_=120),
            "ticket-slow": TierOverride(enabled=False),
        },
    )
    assert [t.name for t in tiers] == ["page-fast", "page-slow", "ticket-fast"]
    assert (tiers[0].long_window, tiers[0].short_window, tiers[0].factor, tiers[0].for_) == (
        7200,
        600,
        Decimal("10"),
        120,
    )


def test_impossible_overrides_name_the_field_at_fault() -> None:
    with pytest.raises(WindowError) as info:
        plan_tiers(
            D30,
            overrides={
                "page-fast": TierOverride(short_window=30),
                "page-slow": TierOverride(long_window=3600, short_window=3600),
                "ticket-slow": TierOverride(long_window=parse_duration("31d")),
            },
        )
    assert [(p.tier, p.field) for p in info.value.problems] == [
        ("page-fast", "short_window"),
        ("page-slow", "short_window"),
        ("ticket-slow", "long_window"),
    ]


def test_short_period_windows_below_four_scrapes_are_refused() -> None:
    # The 5m of 30d scaled to 1d is 10s, which rounds to no minute at all: said so.
    with pytest.raises(
        WindowError,
        match=r"page-fast: short window 0s \(10s for a 1d period, rounded\) holds fewer than 4",
    ):
        plan_tiers(parse_duration("1d"))
    # A 7d period still works with 15s scrapes (shortest window 1m = 4 scrapes).
    assert [format_duration(t.short_window) for t in plan_tiers(parse_duration("7d"))] == [
        "1m",
        "7m",
        "28m",
        "1h24m",
    ]
    with pytest.raises(WindowError):
        plan_tiers(parse_duration("7d"), scrape_interval=30)


def test_default_for_is_a_fifth_of_the_short_window() -> None:
    assert [format_duration(t.for_) for t in plan_tiers(D30)] == ["1m", "6m", "24m", "1h12m"]


def test_windows_are_sorted_and_unique() -> None:
    assert [format_duration(w) for w in burnrate.windows(plan_tiers(D30), D30)] == [
        "5m",
        "30m",
        "1h",
        "2h",
        "6h",
        "1d",
        "3d",
        "30d",
    ]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("30d", 2592000), ("1w", 604800), ("1y", 31536000)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5M", "30m1h", "1h1h", "0s", "1.5h", "-1d", "5ms"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (300, "5m"), (5400, "1h30m"), (241920, "2d19h12m")],
)
def test_format_duration_is_canonical(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    if seconds:
        assert parse_duration(text) == seconds
