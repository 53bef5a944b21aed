"""The load-test gate against an app nobody on the project wrote: FastAPI instrumented by
prometheus-fastapi-instrumentator (loadtest/fastapi_app.py), freshly started, so its
request counters have no series until the load's first request, scraped by a real
Prometheus every 15s, 60s and 120s while the SLO file declares the default 15s, loaded by
k6 (issue 34, item 2).

Before, `loadtest run` refused to start ("no series ... the load test was not started",
exit 3); and a counter scraped less often than the load lasted held its events only in
the scrape after the load, which increase() over the window never read, nor the first
sample of a series created by the load. Now each run starts with a note, waits for the
scrape after the load, and counts every request the app served: 200 payments, every 5th
failed (40), violates the payment SLO; 200 page views pass theirs. Where the real
interval is not the file's, the gate's report and `doctor` say so with the measured one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT, cli, require_tool

sys.path.insert(0, str(ROOT / "loadtest"))
import stack

pytestmark = [pytest.mark.live, pytest.mark.waits]

SLOS = "apiVersion: slo-compiler/v1\nservice: shop\nslos:\n" + "".join(
    f"  - name: {name}\n    objective: 99\n    period: 7d\n    sli:\n      ratio:\n"
    f'        errors: http_requests_total{{handler="{path}", status="5xx"}}\n'
    f'        total: http_requests_total{{handler="{path}"}}\n'
    for name, path in (("payments", "/pay"), ("browsing", "/browse"))
)
K6 = """\
import http from 'k6/http';
export const options = { vus: 4, iterations: 200 };
export default function () {
  http.post(`${__ENV.APP}/pay`);
  http.get(`${__ENV.APP}/browse`);
}
"""
INTERVALS = ("15s", "60s", "120s")
# Prometheus evaluates rules every 15s here: the gate waits as long for them.
CONFIG = "apiVersion: slo-compiler/v1\nevaluation_interval: 15s\n"


def _gate(work: Path, interval: str, k6: str) -> tuple[int, dict, str, dict]:
    """A fresh app and Prometheus at `interval`, then `loadtest run` with k6, then
    `doctor`: (exit code, report, stderr) of the gate, doctor's report."""
    work.mkdir()
    (work / "slos").mkdir()
    (work / "slos/shop.yaml").write_text(SLOS)
    (work / "load.js").write_text(K6)
    (work / "slo-compiler.yaml").write_text(CONFIG)
    with stack.fastapi_app(work, interval, fail_every=5) as (app, prometheus):
        command = [k6, "run", "--quiet", "-e", f"APP={app}", str(work / "load.js")]
        result = cli(
            "loadtest",
            "run",
            "--prometheus",
            prometheus,
            "--config",
            str(work / "slo-compiler.yaml"),
            "--format",
            "json",
            "--",
            *command,
            cwd=work,
            timeout=400,  # a scrape after the load: up to 2m; the rules: 15s
        )
        doctor = cli("doctor", "--prometheus", prometheus, "--format", "json", cwd=work)
    start = result.stdout.find('{\n  "prometheus"')
    assert start >= 0, result.stdout[-2000:] + result.stderr[-3000:]
    return (
        result.returncode,
        json.loads(result.stdout[start:]),
        result.stderr,
        doctor_report(doctor),
    )


def doctor_report(doctor: subprocess.CompletedProcess[str]) -> dict:
    """doctor's findings by SLO and check, its exit code under "exit"."""
    slos = json.loads(doctor.stdout)["slos"]
    found = {s["slo"]: {f["check"]: f for f in s["findings"]} for s in slos}
    return {"exit": doctor.returncode, **found}


def test_the_gate_counts_every_request_of_a_fresh_app_at_any_scrape_interval(
    tmp_path: Path,
) -> None:
    require_tool("prometheus")
    k6 = require_tool("k6")
    results: dict[str, tuple[int, dict, str, dict]] = {}
    errors: list[BaseException] = []

    def run(interval: str) -> None:
        try:
            results[interval] = _gate(tmp_path / interval, interval, k6)
        except BaseException as err:  # reported by the test's own thread
            errors.append(err)

    # Side by side: each waits on its own Prometheus' scrapes, not on the machine.
    threads = [threading.Thread(target=run, args=(i,)) for i in INTERVALS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    if errors:
        raise errors[0]
    for interval in INTERVALS:
        code, report, stderr, doctor = results[interval]
        why = f"{interval}: {json.dumps(report['slos'], indent=1)}\n{stderr[-2000:]}"
        assert "note: shop/payments: no series of" in stderr, why
        assert "starting anyway" in stderr, why
        slos = {s["slo"]: s for s in report["slos"]}
        assert code == 1, why
        [payments] = slos["payments"]["groups"]
        assert (payments["total_events"], payments["bad_events"]) == (200, 40), why
        assert slos["payments"]["status"] == "violated", why
        [browsing] = slos["browsing"]["groups"]
        assert (browsing["total_events"], browsing["bad_events"]) == (200, 0), why
        assert slos["browsing"]["status"] == "pass", why
        assert slos["payments"]["gaps"] == slos["browsing"]["gaps"] == [], why
        # Every live command says where the file's 15s is wrong, with the measured one.
        seconds = int(interval.rstrip("s"))
        note = f"scraped every {seconds}s, the SLO file says 15s"
        assert any(note in r for r in slos["payments"]["reasons"]) == (seconds > 15), why
        found = doctor["payments"]["scrape interval"]
        assert found["ok"] == (seconds == 15), doctor
        assert found["detail"].startswith(f"{seconds}s (slowest target {seconds}s)"), doctor
        assert doctor["payments"]["rules"]["ok"] is False  # not loaded here, and said so
        cost = doctor["payments"]["rule cost"]["detail"]
        assert re.fullmatch(
            r"[\d,]+ samples read a minute by \d+ rules \(the raw-counter part: the rules "
            r"are not loaded\)",
            cost,
        ), cost
        assert int(cost.split()[0].replace(",", "")) > 0, cost
        assert doctor["exit"] == 1, doctor
