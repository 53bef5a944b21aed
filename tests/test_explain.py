"""`slo-compiler explain`: the workbook table and the detection formula, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from conftest import ROOT, VALID, cli, compile_texts, errors_of, source

from slo_compiler.base.durations import parse_duration
from slo_compiler.rules import explain
from slo_compiler.source.config import DEFAULT
from slo_compiler.source.load import load_config


def run_explain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slo_compiler", "explain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_json_matches_the_formula_for_every_example_slo() -> None:
    result = run_explain("--format", "json")
    assert result.returncode == 0, result.stderr
    slos = json.loads(result.stdout)["slos"]
    assert len(slos) >= 4
    for slo in slos:
        budget = slo["error_budget"]
        period = parse_duration(slo["period"])
        interval = parse_duration(slo["evaluation_interval"])
        assert interval == 15  # the platform's, read from the config's kubernetes section
        for tier in slo["tiers"]:
            long_w, short_w = (
                parse_duration(tier["long_window"]),
                parse_duration(tier["short_window"]),
            )
            factor, for_ = tier["factor"], parse_duration(tier["for"])
            assert tier["long_window_from_recorded_rates"] == (long_w >= 43200)

            def weighed(window: int) -> tuple[int, int]:
                """(traffic weighed, lag): windows of 12h and more sum 4m slices recorded
                every 4m (one slice more, 2m37.5s late on average with the 30s slices they
                are made of), shorter ones 30s slices (37.5s late: the slices' phase, and
                a slice ends 15s before its evaluation, at the scrape before that)."""
                if window >= 43200:
                    return 240 * (window // 240 + 1), 157.5
                return window, 37.5

            assert tier["error_ratio_threshold"] == round(factor * budget, 12)
            assert abs(tier["budget_spent_at_detection"] - factor * long_w / period) < 1e-12
            for burn in tier["burns"]:
                rate = burn["burn_rate"]
                if rate <= factor:
                    assert burn["detect_seconds"] is None and burn["fires_seconds"] is None
                    continue
                windows = map(weighed, (long_w, short_w))
                expected = max(w * factor / rate + lag for w, lag in windows)
                assert abs(burn["detect_seconds"] - expected) < 1e-6
                assert abs(burn["fires_seconds"] - expected - for_) < 1e-6


def test_total_outage_of_a_999_slo_pages_after_1m29_34s_plus_for() -> None:
    """1h x 14.4 / 1000 = 51.84s, plus the fine slices' 37.5s of lag on average."""
    result = run_explain("gateway-service/availability")
    assert result.returncode == 0, result.stderr
    page_fast = next(line for line in result.stdout.splitlines() if "page-fast" in line)
    assert page_fast.split()[:7] == [
        "page-fast",
        "1h/5m",
        "14.4x",
        "1.44%",
        "1m",
        "2%",
        "1m29.34s+1m",
    ]


def test_30d_workbook_table_in_the_text_output() -> None:
    plans = compile_texts(VALID.replace("objective: 99.5", "objective: 99.9")).plans[0].slos
    rows = [line.split()[:6] for line in explain.text(list(plans), 60, DEFAULT).splitlines()[2:6]]
    assert rows == [
        ["page-fast", "1h/5m", "14.4x", "1.44%", "1m", "2%"],
        ["page-slow", "6h/30m", "6x", "0.6%", "6m", "5%"],
        ["ticket-fast", "1d/2h*", "3x", "0.3%", "24m", "10%"],
        ["ticket-slow", "3d/6h*", "1x", "0.1%", "1h12m", "10%"],
    ]


def test_human_durations() -> None:
    assert explain.human(Decimal("51.84")) == "51.84s"
    assert explain.human(Decimal("111.84")) == "1m51.84s"
    assert explain.human(Decimal(3600 * 36 + 150)) == "1d12h2m30s"
    assert explain.human(Decimal(0)) == "0s"


def test_unknown_slo_is_a_usage_error() -> None:
    result = run_explain("no-such-slo")
    assert result.returncode == 2
    assert "no SLO, service or alert named 'no-such-slo'" in result.stderr


def test_select_by_name() -> None:
    result = run_explain("queue-wait-time", "--format", "json")
    assert [s["slo"] for s in json.loads(result.stdout)["slos"]] == ["queue-wait-time"]


def test_explain_by_the_alert_name_on_call_sees_shows_severity_for_and_receiver(
    repo: Path,
) -> None:
    """Issue 27: the page names `PaymentFailureBudgetBurn` (Grafana: with the window);
    explain finds its SLO and says, per tier, severity, `for` and the receiver the
    config's routing sends it to (payments' critical -> PagerDuty, warnings -> Slack)."""
    for name in (
        "PaymentFailureBudgetBurn",
        "PaymentFailureBudgetBurn 6h",
        "PaymentFailureSLIMissing",
    ):
        result = cli("explain", name, cwd=repo)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("payment-service/payment-failure-rate:")
    lines = cli("explain", "PaymentFailureBudgetBurn", cwd=repo).stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["tier", "alert"])
    assert [line.split() for line in lines[start + 1 : start + 7]] == [
        ["page-fast", "PaymentFailureBudgetBurn", "1h", "critical", "1m", "pagerduty-oncall"],
        ["page-slow", "PaymentFailureBudgetBurn", "6h", "critical", "6m", "pagerduty-oncall"],
        ["ticket-fast", "PaymentFailureBudgetBurn", "1d", "warning", "24m", "slack-payments"],
        ["ticket-slow", "PaymentFailureBudgetBurn", "3d", "warning", "1h12m", "slack-payments"],
        ["sli-missing", "PaymentFailureSLIMissing", "warning", "10m", "slack-payments"],
        [
            "scrape-interval",
            "PaymentFailureScrapeIntervalMismatch",
            "warning",
            "15m",
            "slack-payments",
        ],
    ]
    doc = json.loads(
        cli("explain", "PaymentFailureBudgetBurn", "--format", "json", cwd=repo).stdout
    )
    assert doc["slos"][0]["alerts"][0] == {
        "alert": "PaymentFailureBudgetBurn 1h",
        "tier": "page-fast",
        "severity": "critical",
        "for": "1m",
        "receiver": "pagerduty-oncall",
    }


def test_receivers_follow_the_generated_policy_tree() -> None:
    """receiver_for walks the same tree grafana_alerting.policies writes."""
    from slo_compiler.rules.routes import receiver_for

    config = load_config(source((ROOT / "slo-compiler.yaml").read_text(), "c.yaml"))[0]
    page = {"team": "payments", "severity": "critical", "slo_tier": "page"}
    assert receiver_for(config, page) == "pagerduty-oncall"
    assert receiver_for(config, {"team": "payments", "severity": "warning"}) == "slack-payments"
    assert receiver_for(config, {"team": "nobody", "severity": "critical"}) == "discord-platform"
    assert receiver_for(config, {"slo_tier": "ticket"}) == "discord-platform"
    assert receiver_for(config, {}) == "discord-platform"
    assert receiver_for(DEFAULT, {"team": "payments"}) is None


def test_an_objective_written_as_a_fraction_gets_a_hint() -> None:
    (problem,) = errors_of(VALID.replace("objective: 99.5", "objective: 0.995"))
    assert problem.code.value == "V001"
    assert problem.message.endswith("did you mean 99.5?")
