"""The load-test gate end to end, every part real: the platform simulator
(loadtest/simulator.py) with a payment 5xx storm switched on, a real Prometheus scraping
it every second and evaluating the compiled rules every second, Locust driving the three
flows headless (loadtest/locustfile.py), and `slo-compiler loadtest run` gating it. The
payment SLO must fail on its page tier; the seat and queue SLOs, healthy, must pass."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, cli, require_tool

pytestmark = pytest.mark.live

sys.path.insert(0, str(ROOT / "loadtest"))
import stack  # noqa: E402 - the load-test equipment is not part of the package


@pytest.fixture
def storm(tmp_path: Path) -> Iterator[stack.Stack]:
    """The simulator with a payment 5xx storm, and a Prometheus evaluating the rules."""
    require_tool("prometheus")
    with stack.running(tmp_path, "payment_5xx") as running:
        yield running


def test_a_payment_storm_fails_the_payment_slo_and_only_it(
    storm: stack.Stack, tmp_path: Path
) -> None:
    result = cli(
        "loadtest",
        "run",
        "--prometheus",
        storm.prometheus,
        "--slos",
        str(stack.SLOS),
        "--config",
        str(storm.config),
        "--settle",
        "3s",
        "--format",
        "json",
        "--",
        *stack.locust(storm.simulator, 15),
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert '{\n  "prometheus"' in result.stdout, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index('{\n  "prometheus"') :])
    verdicts = {s["service"]: s for s in report["slos"]}
    payment = verdicts["payment-service"]
    assert payment["status"] == "violated", payment
    [group] = payment["groups"]
    assert group["bad_events"] > 0 and group["sli"] < 0.5
    assert any("page-fast" in r for r in group["reasons"]), group["reasons"]
    assert verdicts["ticket-service"]["status"] == "pass", verdicts["ticket-service"]
    assert verdicts["queue-service"]["status"] == "pass", verdicts["queue-service"]
    # The deployed rules (evaluated every second) paged too, as the replay says.
    page_fast = next(t for t in group["tiers"] if t["tier"] == "page-fast")
    assert page_fast["fired_at"] is not None and page_fast["actual_fired_at"] is not None
    # The same window as a fault-injection run: the payment page is expected, and came.
    expected = cli(
        "verify",
        "payment-failure-rate",
        "--prometheus",
        storm.prometheus,
        "--slos",
        str(stack.SLOS),
        "--config",
        str(storm.config),
        "--from",
        str(report["start"]),
        "--to",
        str(report["end"]),
        "--expect-fire",
        "payment-failure-rate:page-fast",
        cwd=tmp_path,
    )
    assert expected.returncode == 0, expected.stdout + expected.stderr
