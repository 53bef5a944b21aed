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


def _load_test(running: stack.Stack, cwd: Path, seconds: int = 12) -> tuple[int, dict]:
    """`loadtest run` with Locust for `seconds`; its exit code and its JSON report."""
    result = cli(
        "loadtest",
        "run",
        "--prometheus",
        running.prometheus,
        "--slos",
        str(stack.SLOS),
        "--config",
        str(running.config),
        "--settle",
        "3s",
        "--format",
        "json",
        "--",
        *stack.locust(running.simulator, seconds),
        cwd=cwd,
    )
    start = result.stdout.find('{\n  "prometheus"')
    assert start >= 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout[start:])


def test_a_payment_storm_fails_the_payment_slo_and_only_it(
    storm: stack.Stack, tmp_path: Path
) -> None:
    # Long enough for page-fast (2m/10s, for 5s) to fire in the deployed rules too, about
    # 12s in, with room for their evaluation offset.
    code, report = _load_test(storm, tmp_path, seconds=20)
    assert code == 1, report
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


def test_healthy_load_passes_then_lock_leak_and_slow_queue_fail_their_own_slos(
    tmp_path: Path,
) -> None:
    """Healthy load: every SLO passes (exit 0). Then both faults switched on live, payments
    still healthy: the seat and queue SLOs fail on a page tier, the payment SLO passes."""
    require_tool("prometheus")
    with stack.running(tmp_path) as running:
        healthy, report = _load_test(running, tmp_path, seconds=10)
        assert healthy == 0, report
        assert {s["status"] for s in report["slos"]} == {"pass"}
        running.fault(lock_leak=True, slow_queue=True)
        code, report = _load_test(running, tmp_path)
    assert code == 1, report
    verdicts = {s["service"]: s for s in report["slos"]}
    assert verdicts["payment-service"]["status"] == "pass", verdicts["payment-service"]
    for service in ("ticket-service", "queue-service"):
        [group] = verdicts[service]["groups"]
        assert verdicts[service]["status"] == "violated", verdicts[service]
        # A page tier (page-fast or page-slow, as the burn reached) fails the gate.
        assert any(r.startswith("tier page-") for r in group["reasons"]), group["reasons"]
