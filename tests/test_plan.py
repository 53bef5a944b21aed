"""Planning: the rules each SLI kind compiles to, their labels and their order."""

from __future__ import annotations

import promql_parser
from conftest import VALID, compile_texts, errors_of, rules_of

from slo_compiler.rules.ir import AlertRule, RecordingRule

LATENCY = """\
apiVersion: slo-compiler/v1
service: queue-service
slos:
  - name: queue-wait-time
    objective: 99
    period: 28d
    sli:
      latency:
        histogram: urr_queue_wait_seconds{service="queue-service"}
        threshold: 300
"""

GOOD = """\
apiVersion: slo-compiler/v1
service: api
slos:
  - name: ok-responses
    objective: 99
    group_by: [uri, method]
    sli:
      ratio:
        good: http_requests_total{code=~"2.."}
        total: http_requests_total
"""

RAW = """\
apiVersion: slo-compiler/v1
service: api
slos:
  - name: raw-errors
    objective: 99.9
    sli:
      raw:
        error_ratio: sum(rate(errors_total[{{ window }}])) / sum(rate(requests_total[{{window}}]))
"""


def rules(text: str) -> list[RecordingRule | AlertRule]:
    return list(compile_texts(text).plans[0].slos[0].rules)


def recorded(text: str) -> dict[str, str]:
    return {r.record: r.expr for r in rules(text) if isinstance(r, RecordingRule)}


def test_rule_order_is_dependency_order() -> None:
    names = [r.record if isinstance(r, RecordingRule) else r.alert for r in rules(VALID)]
    assert names == [
        "slo:sli_total:rate30s",
        "slo:sli_errors:rate30s",
        "slo:sli_total:rate4m",
        "slo:sli_errors:rate4m",
        "slo:sli_total:rate5m",
        "slo:sli_errors:rate5m",
        *(
            f"slo:sli_error:ratio_rate{w}"
            for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
        ),
        "slo:sli_scrape_interval:seconds",
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:current_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        *["PaymentFailureRateBudgetBurn"] * 4,
        "PaymentFailureRateSLIMissing",
        "PaymentFailureRateScrapeIntervalMismatch",
    ]
    every = [r for r in rules(VALID) if isinstance(r, RecordingRule) and r.every]
    # Every 30s (the slices group): the fine slices, the rules on the counters but one.
    assert [r.record for r in every if r.every == 30] == [
        "slo:sli_total:rate30s",
        "slo:sli_errors:rate30s",
    ]
    # Every 4m (the slow group): the coarse slices, what is summed from them, the budget left.
    assert [r.record for r in every if r.every == 240] == [
        "slo:sli_total:rate4m",
        "slo:sli_errors:rate4m",
        *(f"slo:sli_error:ratio_rate{w}" for w in ["1d", "3d", "30d"]),
        "slo:sli_scrape_interval:seconds",
        "slo:period_error_budget_remaining:ratio",
    ]
    assert all(r.every in (30, 240) for r in every)


def test_only_the_fine_slices_read_the_counters() -> None:
    """Every other rule reads recorded series: what an SLO costs grows with its groups,
    not with its raw series (issue 29)."""
    exprs = recorded(VALID)
    counters = sorted(k for k, e in exprs.items() if "http_server_requests" in e)
    # The fine slices, and the scrape interval measured every 4m (each sample once more).
    assert counters == [
        "slo:sli_errors:rate30s",
        "slo:sli_scrape_interval:seconds",
        "slo:sli_total:rate30s",
    ]
    counter = 'http_server_requests_seconds_count{service="payment-service"}'
    assert exprs["slo:sli_scrape_interval:seconds"] == (
        f"quantile(0.5, 240 / count_over_time({counter}[4m]))"
    )
    # The counters 15s and 45s before the evaluation: their increase (or, after a reset,
    # the later value) over the 30s between them.
    assert exprs["slo:sli_total:rate30s"] == (
        f"sum({counter} offset 15s - {counter} offset 45s >= 0\n"
        f"or {counter} offset 15s < {counter} offset 45s) / 30"
    )
    mean = 'sum_over_time(slo:sli_total:rate30s{slo="payment-failure-rate",'
    assert exprs["slo:sli_total:rate5m"].startswith(mean)
    assert exprs["slo:sli_total:rate5m"].endswith("[5m]) / 10")  # the mean of 10 slices
    assert exprs["slo:sli_total:rate4m"].startswith(mean)
    assert exprs["slo:sli_total:rate4m"].endswith("[4m]) / 8")
    windows = [("30m", "30s"), ("6h", "30s"), ("1d", "4m"), ("3d", "4m"), ("30d", "4m")]
    for window, slices in windows:
        expr = exprs[f"slo:sli_error:ratio_rate{window}"]
        assert f'sum_over_time(slo:sli_errors:rate{slices}{{slo="payment-failure-rate",' in expr
        assert f'sum_over_time(slo:sli_total:rate{slices}{{slo="payment-failure-rate",' in expr
        assert f"[{window}]" in expr


def test_a_service_scraped_less_often_gets_longer_fine_slices() -> None:
    """Two scrapes a slice at least: 1m slices every minute at 30s (reading back 1m15s);
    at 2m one level of 4m slices (reading back 4m15s; a 90d period, so that its windows
    hold 4 scrapes). The interval is measured over 8 declared scrapes, 4m at least."""
    for scrape, fine, reads, every, span in (
        ("30s", "1m", "1m15s", {60, 240}, "4m"),
        ("2m", "4m", "4m15s", {240}, "16m"),
    ):
        text = VALID.replace("slos:\n", f"scrape_interval: {scrape}\nslos:\n", 1)
        text = text.replace("    sli:", "    period: 90d\n    sli:", 1)
        exprs = recorded(text)
        counters = sorted(k for k, e in exprs.items() if "http_server_requests" in e)
        measured = "slo:sli_scrape_interval:seconds"
        assert counters == [f"slo:sli_errors:rate{fine}", measured, f"slo:sli_total:rate{fine}"]
        assert f"offset {reads}" in exprs[f"slo:sli_total:rate{fine}"]
        assert f"[{span}]))" in exprs[measured]
        assert {r.every for r in rules(text) if isinstance(r, RecordingRule) and r.every} == every
        assert f"sum_over_time(slo:sli_errors:rate{fine}{{" in exprs["slo:sli_error:ratio_rate6h"]
        assert "sum_over_time(slo:sli_errors:rate4m{" in exprs["slo:sli_error:ratio_rate90d"]


def test_every_ratio_is_zero_not_nan_without_traffic() -> None:
    """Every window is a ratio of recorded rates, whose errors exist wherever the total
    does: `/ clamp_min(total, eps)`, reading the total once; 0 without traffic (the
    generated tests' idle scenario shows it in promtool)."""
    for record, expr in recorded(VALID).items():
        if record.startswith("slo:sli_error:ratio_rate"):
            lines = expr.splitlines()
            assert lines[0].startswith(("slo:", "sum_over_time(slo:")), expr
            assert len(lines) == 2 and lines[1].startswith("/ clamp_min("), expr
            assert lines[1].endswith(", 1e-12)"), expr


def test_missing_error_series_count_as_zero_errors() -> None:
    expr = recorded(VALID)["slo:sli_errors:rate30s"]
    assert expr.splitlines()[2] == (
        "or 0 * sum(slo:sli_total:rate30s"
        '{slo="payment-failure-rate",slo_service="payment-service"})'
    )


def test_good_events_are_subtracted_and_grouping_is_kept() -> None:
    expr = recorded(GOOD)["slo:sli_errors:rate30s"]

    def sliced(counter: str) -> str:
        return (
            f"sum by (uri, method) ({counter} offset 15s - {counter} offset 45s >= 0\n"
            f"or {counter} offset 15s < {counter} offset 45s) / 30"
        )

    total, good = sliced("http_requests_total"), sliced('http_requests_total{code=~"2.."}')
    assert expr == f"clamp_min({total} - ({good} or 0 * {total}), 0)"


def test_latency_matches_both_spellings_of_le() -> None:
    exprs = recorded(LATENCY)
    assert (
        'urr_queue_wait_seconds_bucket{service="queue-service",le=~"300|300\\\\.0"}'
        in (exprs["slo:sli_errors:rate30s"])
    )
    assert "urr_queue_wait_seconds_count{" in exprs["slo:sli_total:rate30s"]
    le = promql_parser.parse(exprs["slo:sli_errors:rate30s"])
    found = []
    promql_parser.walk(
        le,
        lambda n: (
            found.extend(m.value for m in n.matchers.matchers if m.name == "le")
            if isinstance(n, promql_parser.VectorSelector)
            else None
        ),
    )
    assert set(found) == {"300|300\\.0"}


def test_raw_template_is_used_for_every_window() -> None:
    exprs = recorded(RAW)
    assert "slo:sli_total:rate5m" not in exprs
    assert exprs["slo:sli_error:ratio_rate30d"] == (
        "sum(rate(errors_total[30d])) / sum(rate(requests_total[30d]))"
    )
    missing = [r for r in rules(RAW) if isinstance(r, AlertRule)][-1]
    assert missing.expr == 'absent(slo:sli_error:ratio_rate5m{slo="raw-errors",slo_service="api"})'


def test_labels_on_series_and_alerts() -> None:
    text = VALID.replace("    objective: 99.5\n", "    objective: 99.5\n    labels: {tier: gold}\n")
    all_rules = rules(text)
    assert all(
        dict(r.labels)
        == {
            "slo": "payment-failure-rate",
            "slo_service": "payment-service",
            "team": "payments",
            "tier": "gold",
        }
        for r in all_rules
        if isinstance(r, RecordingRule)
    )
    alerts = [dict(r.labels) for r in all_rules if isinstance(r, AlertRule)]
    assert [(a["severity"], a["slo_tier"], a.get("slo_window")) for a in alerts] == [
        ("critical", "page", "1h"),
        ("critical", "page", "6h"),
        ("warning", "ticket", "1d"),
        ("warning", "ticket", "3d"),
        ("warning", "ticket", None),  # the SLI missing
        ("warning", "ticket", None),  # its scrape interval
    ]
    assert all(a["team"] == "payments" and a["tier"] == "gold" for a in alerts)


def test_alert_uses_both_windows_and_exact_thresholds() -> None:
    page_fast = next(r for r in rules(VALID) if isinstance(r, AlertRule))
    assert page_fast.expr == (
        'slo:sli_error:ratio_rate1h{slo="payment-failure-rate",slo_service="payment-service"}'
        " / 0.005 > 14.4\nand\n"
        'slo:sli_error:ratio_rate5m{slo="payment-failure-rate",slo_service="payment-service"}'
        " / 0.005 > 14.4"
    )
    assert (
        "more than 7.2% of events fail against a budget of 0.5%"
        in (dict(page_fast.annotations)["description"])
    )


def test_severity_override_and_annotations() -> None:
    text = VALID + (
        "    alerting:\n      name: Payments\n      runbook_url: https://rb/x\n"
        "      page: {labels: {severity: warning, pager: none}, annotations: {note: hi}}\n"
    )
    alerts = [r for r in rules(text) if isinstance(r, AlertRule)]
    assert alerts[0].alert == "Payments" and alerts[-2].alert == "PaymentsSLIMissing"
    assert alerts[-1].alert == "PaymentsScrapeIntervalMismatch"
    assert dict(alerts[0].labels)["severity"] == "warning"
    assert dict(alerts[0].labels)["pager"] == "none"
    assert dict(alerts[0].annotations)["note"] == "hi"
    assert dict(alerts[0].annotations)["runbook_url"] == "https://rb/x"
    assert dict(alerts[2].labels)["severity"] == "warning"


def test_label_values_with_quotes_are_escaped_in_selectors() -> None:
    text = VALID.replace(
        '{service="payment-service", status=~"5.."}', '{service="pay\\"ment\\\\svc", status=~"5.."}'
    )
    exprs = recorded(text)
    assert 'service="pay\\"ment\\\\svc"' in exprs["slo:sli_errors:rate30s"]


def test_a_tier_may_fire_without_for() -> None:
    """`for: 0s` (Sloth's alerts have none): the tier fires at the first evaluation its
    condition holds; windows and periods stay strictly positive."""
    text = """
        apiVersion: slo-compiler/v1
        service: api
        slos:
          - name: availability
            objective: 99.9
            sli:
              ratio:
                errors: http_requests_total{code=~"5.."}
                total: http_requests_total
            alerting:
              tiers:
                page-fast: {for: 0s}
        """
    result = compile_texts(text)
    (tier, *_) = result.plans[0].slos[0].tiers
    assert (tier.name, tier.for_) == ("page-fast", 0)
    assert "for: 0s" in rules_of(result, "file0").decode()
    problems = errors_of(text.replace("{for: 0s}", "{long_window: 0s}"))
    assert [(d.code.value, d.message) for d in problems] == [
        ("V002", "'0s' is not a positive duration")
    ]


def test_sliced_windows_and_the_budget_left_are_evaluated_in_a_slower_group() -> None:
    """Slices, the windows summed from them (the period too, even where a tier alerts on
    it: they change every 4m) and the budget left: every 4m, under the 5m lookback. A raw
    SLI's period goes there unless a tier alerts on it (it must then be current)."""
    import yaml

    def slow_groups(text: str) -> list[tuple[str, list[str]]]:
        groups = yaml.safe_load(rules_of(compile_texts(text), "file0"))
        slow = [g for g in groups["groups"] if g["name"].endswith(":slow")]
        fine = [g for g in groups["groups"] if g["name"].endswith(":slices")]
        assert all(g["interval"] == "30s" for g in fine)
        assert all("interval" not in g for g in groups["groups"] if g not in slow + fine)
        return [(g["interval"], [r["record"] for r in g["rules"]]) for g in slow]

    sliced = ["slo:sli_total:rate4m", "slo:sli_errors:rate4m"]  # fine ones: every minute
    ratios = [f"slo:sli_error:ratio_rate{w}" for w in ("1d", "3d", "30d")]
    left = ["slo:sli_scrape_interval:seconds", "slo:period_error_budget_remaining:ratio"]
    assert slow_groups(VALID) == [("4m", sliced + ratios + left)]
    tiers = (
        "    alerting:\n      tiers:\n"
        "        ticket-slow: {long_window: 30d, short_window: 2d12h}\n"
    )
    alerted = VALID.replace("    sli:", tiers + "    sli:", 1)
    longest = [f"slo:sli_error:ratio_rate{w}" for w in ("1d", "2d12h", "30d")]
    assert slow_groups(alerted) == [("4m", sliced + longest + left)]
    raw = RAW.replace("    sli:", "    period: 30d\n    sli:", 1)
    # A raw SLI's scrape interval is not ours to measure.
    assert slow_groups(raw) == [("4m", ["slo:sli_error:ratio_rate30d", left[1]])]
    assert slow_groups(raw.replace("    sli:", tiers + "    sli:", 1)) == [("4m", left[1:])]
