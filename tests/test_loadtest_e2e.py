"""The load-test gate end to end, every part real: the platform simulator
(loadtest/simulator.py), a real Prometheus scraping it every second and evaluating the
compiled rules every second, Locust driving the three flows headless
(loadtest/locustfile.py), and `slo-compiler loadtest run` gating it.

* a payment 5xx storm fails the payment SLO on its page tier, and only it; the healthy
  stretch right after it passes, the alert still firing at its start reported as carried in;
* healthy load passes; a lock leak and a slow queue fail their own SLOs;
* an app killed half-way through the load fails the gate, naming the target and the gap
  (Locust, told to exit 0 on request errors, is no help there)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
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
    result = cli(*_load_command(running, seconds), cwd=cwd)
    return _report(result.returncode, result.stdout, result.stderr)


def _against(running: stack.Stack) -> list[str]:
    """Where the gate looks: the stack's Prometheus, the load-test SLOs, JSON reports."""
    return [
        "--prometheus",
        running.prometheus,
        "--slos",
        str(stack.SLOS),
        "--config",
        str(running.config),
        "--format",
        "json",
    ]


def _load_command(running: stack.Stack, seconds: int) -> list[str]:
    return [
        "loadtest",
        "run",
        *_against(running),
        "--settle",
        "3s",
        "--",
        *stack.locust(running.simulator, seconds),
    ]


def _report(code: int, stdout: str, stderr: str) -> tuple[int, dict]:
    """The exit code and the JSON report, which keeps the end of the run's log under
    "_log" for _why."""
    start = stdout.find('{\n  "prometheus"')
    assert start >= 0, stdout[-2000:] + stderr[-3000:]
    return code, {**json.loads(stdout[start:]), "_log": stderr[-1500:]}


def _why(report: dict) -> str:
    """What a failed assertion shows: each SLO's verdict, reasons and gaps, then the log
    (a timing-dependent failure is otherwise a truncated dict in the CI's output)."""
    window = f"window {report['start']:.1f}..{report['end']:.1f}"
    lines = [f"{window}, gate {report['gate']}: {report['status']}"]
    for slo in report["slos"]:
        lines.append(f"{slo['service']}/{slo['slo']}: {slo['status']} {slo['reasons']}")
        lines += [f"  gap {gap}" for gap in slo["gaps"]]
        for group in slo["groups"]:
            events = f"{group['bad_events']:g}/{group['total_events']:g} bad"
            lines.append(f"  {group['group']} {group['status']} {events} {group['reasons']}")
    return "\n".join([*lines, report["_log"]])


def _verify(running: stack.Stack, cwd: Path, *args: str) -> tuple[int, dict]:
    result = cli("verify", *_against(running), *args, cwd=cwd)
    return _report(result.returncode, result.stdout, result.stderr)


def test_a_payment_storm_fails_the_payment_slo_and_the_healthy_stretch_after_it_passes(
    storm: stack.Stack, tmp_path: Path
) -> None:
    """One run: 15s of storm (long enough for page-fast, 2m/10s with `for: 5s`, to fire in
    the deployed rules too, about 12s in), then the storm switched off for 17s."""
    switched: list[float] = []

    def heal() -> None:
        switched.append(time.time())
        storm.fault(payment_5xx=False)

    timer = threading.Timer(15, heal)
    timer.start()
    try:
        code, report = _load_test(storm, tmp_path, seconds=32)
    finally:
        timer.cancel()
    assert code == 1, _why(report)
    verdicts = {s["service"]: s for s in report["slos"]}
    payment = verdicts["payment-service"]
    assert payment["status"] == "violated", payment
    [group] = payment["groups"]
    assert group["bad_events"] > 0 and group["sli"] < 0.9
    assert any("page-fast" in r for r in group["reasons"]), group["reasons"]
    assert verdicts["ticket-service"]["status"] == "pass", verdicts["ticket-service"]
    assert verdicts["queue-service"]["status"] == "pass", verdicts["queue-service"]
    assert all(s["gaps"] == [] for s in report["slos"]), _why(report)
    # The deployed rules (evaluated every second) paged too, as the replay says.
    page_fast = next(t for t in group["tiers"] if t["tier"] == "page-fast")
    assert page_fast["fired_at"] is not None and page_fast["actual_fired_at"] is not None
    # The storm's stretch as a fault-injection run: a page was expected (any page tier).
    [healed] = switched
    storm_only = ("--from", str(report["start"]), "--to", str(healed))
    expect = ("--expect-fire", "payment-failure-rate:page", "payment-failure-rate")
    code, expected = _verify(storm, tmp_path, *storm_only, *expect)
    assert code == 0, _why(expected)
    # The healthy stretch after it: the alert still firing at its start was carried in
    # from the storm; the stretch's own events pass the gate.
    code, after = _verify(storm, tmp_path, "--from", str(healed + 3), "--to", str(report["end"]))
    payment = next(s for s in after["slos"] if s["service"] == "payment-service")
    assert code == 0, payment
    [group] = payment["groups"]
    page_fast = next(t for t in group["tiers"] if t["tier"] == "page-fast")
    assert page_fast["carried_in"] == "firing" and page_fast["fired_at"] is None, page_fast
    assert page_fast["actual_carried_in"] is True, page_fast
    assert any("page-fast was already firing" in r for r in group["reasons"]), group
    assert not any("other rules" in r for r in group["reasons"]), group
    # Strict about carried-in alerts, the same stretch fails.
    code, strict = _verify(
        storm, tmp_path, "--from", str(healed + 3), "--to", str(report["end"]), "--carried-in-fails"
    )
    assert code == 1, _why(strict)
    # status: the storm spent the payment SLO's budget for the day (read from the raw
    # counters until the rules' slow group has recorded the period's ratio, every 4m).
    now = cli("status", *_against(storm), "payment-failure-rate", cwd=tmp_path)
    assert now.returncode == 1, now.stdout + now.stderr
    [slo] = json.loads(now.stdout)["slos"]
    assert slo["status"] == "exhausted" and slo["groups"][0]["budget_left"] < 0, slo


def test_healthy_load_passes_then_lock_leak_and_slow_queue_fail_their_own_slos(
    tmp_path: Path,
) -> None:
    """Healthy load: every SLO passes (exit 0). Then both faults switched on live, payments
    still healthy: the seat and queue SLOs fail on a page tier, the payment SLO passes."""
    require_tool("prometheus")
    with stack.running(tmp_path) as running:
        healthy, report = _load_test(running, tmp_path, seconds=10)
        assert healthy == 0, _why(report)
        assert {s["status"] for s in report["slos"]} == {"pass"}
        running.fault(lock_leak=True, slow_queue=True)
        code, report = _load_test(running, tmp_path)
    assert code == 1, _why(report)
    verdicts = {s["service"]: s for s in report["slos"]}
    assert verdicts["payment-service"]["status"] == "pass", verdicts["payment-service"]
    for service in ("ticket-service", "queue-service"):
        [group] = verdicts[service]["groups"]
        assert verdicts[service]["status"] == "violated", verdicts[service]
        # A page tier (page-fast or page-slow, as the burn reached) fails the gate.
        assert any(r.startswith("tier page-") for r in group["reasons"]), group["reasons"]


def test_an_app_killed_half_way_fails_the_gate_naming_the_gap(tmp_path: Path) -> None:
    """The simulator is killed 5s into a 12s run; Locust, told to exit 0 on request errors
    as the README's CI example does, exits 0. Every SLO on that target fails, the gap named
    with its target and times."""
    require_tool("prometheus")
    with stack.running(tmp_path) as running:
        run = subprocess.Popen(
            [sys.executable, "-m", "slo_compiler", *_load_command(running, 12)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        time.sleep(5)
        killed = time.time()
        os.kill(running.simulator_pid, signal.SIGKILL)
        stdout, stderr = run.communicate(timeout=120)
    code, report = _report(run.returncode, stdout, stderr)
    assert code == 1, _why(report)
    port = running.simulator.rsplit(":", 1)[1]
    for slo in report["slos"]:
        assert slo["status"] == "violated", slo
        [gap] = slo["gaps"]
        assert gap["target"] == {"job": "platform", "instance": f"127.0.0.1:{port}"}, gap
        assert abs(gap["from"] - killed) < 4 and gap["to"] == report["end"], (gap, killed)
        assert any(r.startswith(f"gap: target 127.0.0.1:{port}") for r in slo["reasons"]), slo
