"""The rules in the environments users really have, run by promtool's real engine: scrape
intervals other than the file declares (Prometheus' default 1m, Alloy's 60s, 2m), error
series that appear on the first error, and a misspelt metric name (issue 34).

Each case is a promtool unit test written here by hand from the compiled rules of one
SLO: inputs sampled at the interval under test, and what must hold checked as PromQL on
the recorded series and on ALERTS (promtool records the alerts' series too), so that no
expectation depends on our own model of the rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import compile_texts, rules_of, run

PAYMENT = """
apiVersion: slo-compiler/v1
service: payment-service
slos:
  - name: payment-failure-rate
    objective: 99.5
    sli:
      ratio:
        errors: {errors}{{service="payment-service", method="POST", status=~"5.."}}
        total: http_server_requests_seconds_count{{service="payment-service", method="POST"}}
    alerting:
      name: PaymentFailureBudgetBurn
"""
COUNTER = 'http_server_requests_seconds_count{service="payment-service",method="POST"'
HOUR = 3600


def _counter(status: str, per_second: float, every: int, phases: list[tuple[int, float]]) -> dict:
    """A counter from 1000 sampled every `every` seconds for 4h, growing at
    `per_second` x the share of its phase (phases: (start, share), from 0)."""
    values, value, t = [], 1000.0, 0
    while t <= 4 * HOUR:
        values.append(f"{value:g}")
        share = next(s for start, s in reversed(phases) if start <= t)
        value += per_second * share * every
        t += every
    return {"series": f'{COUNTER},status="{status}"}}', "values": " ".join(values)}


def _promtool(tmp_path: Path, rules: bytes, every: int, inputs: list[dict], checks: dict) -> str:
    (tmp_path / "rules.yaml").write_bytes(rules)
    test = {
        "rule_files": ["rules.yaml"],
        # Every group at each step; 30s is the fine slices' own interval, so they tile
        # time as in Prometheus.
        "evaluation_interval": "30s",
        "tests": [{"interval": f"{every}s", "input_series": inputs, **checks}],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = run("promtool", "test", "rules", "test.yaml", cwd=tmp_path)
    return result.stdout + result.stderr if result.returncode else ""


def _holds(expr: str, at: str) -> dict[str, Any]:
    """A check that `expr` (a comparison with `bool`, one series) is 1 at `at`."""
    return {"expr": f"min({expr})", "eval_time": at, "exp_samples": [{"labels": "{}", "value": 1}]}


def _firing(alert: str, at: str, count: int, extra: str = "") -> dict[str, Any]:
    expr = f'count(ALERTS{{alertname="{alert}",alertstate="firing"{extra}}}) or vector(0)'
    return {"expr": expr, "eval_time": at, "exp_samples": [{"labels": "{}", "value": count}]}


@pytest.mark.parametrize("every", [15, 60, 120])
def test_a_storm_pages_and_nothing_reads_as_missing_at_any_scrape_interval(
    tmp_path: Path, promtool: str, every: int
) -> None:
    """The file declares nothing (15s). 10 requests a second, from 2h on 20% of them
    failing (a 40x burn): the 1h window reads 20% an hour in, page-fast (threshold 7.2%)
    fires after about 22 minutes and not before 21.6, and the SLI is never missing.
    Before the slices were made of counter differences, 60s and 120s left every slice
    empty: no page, and SLI-missing all day."""
    rules = rules_of(
        compile_texts(PAYMENT.format(errors="http_server_requests_seconds_count")), "file0"
    )
    inputs = [
        _counter("200", 10, every, [(0, 1.0), (2 * HOUR, 0.8)]),
        _counter("500", 10, every, [(0, 0.0), (2 * HOUR, 0.2)]),
    ]
    window = 'slo:sli_error:ratio_rate1h{slo="payment-failure-rate"}'
    page_fast = ',slo_window="1h"'
    mismatch = 1 if every > 15 else 0
    checks = {
        "promql_expr_test": [
            _holds('count(slo:sli_total:rate30s{slo="payment-failure-rate"}) == bool 1', "1h"),
            _holds(f"abs({window} - 0.2) < bool 0.004", "3h30m"),
            _holds(f"{window} < bool 0.0001", "1h59m"),
            _firing("PaymentFailureBudgetBurn", "2h21m", 0, page_fast),
            _firing("PaymentFailureBudgetBurn", "2h27m", 1, page_fast),
            *(_firing("PaymentFailureSLIMissing", t, 0) for t in ("30m", "2h", "3h", "4h")),
            # Declared 15s: 60s and 120s are said, 15s is not.
            _firing("PaymentFailureScrapeIntervalMismatch", "1h", mismatch),
        ]
    }
    failed = _promtool(tmp_path, rules, every, inputs, checks)
    assert not failed, failed


@pytest.mark.parametrize(
    ("errors", "missing"),
    [
        # No request has failed yet: the 5xx series do not exist. Not missing.
        ("http_server_requests_seconds_count", 0),
        # One letter off: no such metric at all. Missing, though the total is there.
        ("http_server_request_seconds_count", 1),
    ],
)
def test_sli_missing_fires_for_a_misspelt_metric_not_for_no_errors_yet(
    tmp_path: Path, promtool: str, errors: str, missing: int
) -> None:
    rules = rules_of(compile_texts(PAYMENT.format(errors=errors)), "file0")
    inputs = [_counter("200", 10, 15, [(0, 1.0)])]
    checks = {
        "promql_expr_test": [
            _firing("PaymentFailureSLIMissing", "9m", 0),
            _firing("PaymentFailureSLIMissing", "30m", missing),
            # The ratio reads 0 either way: which is why the alert must say it.
            _holds('slo:sli_error:ratio_rate1h{slo="payment-failure-rate"} == bool 0', "2h"),
        ]
    }
    failed = _promtool(tmp_path, rules, 15, inputs, checks)
    assert not failed, failed
