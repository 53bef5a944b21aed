"""The load-test gate in one command: `python3 loadtest/demo.py`.

Starts the platform simulator and a real Prometheus on 127.0.0.1 (the compiled rules of
loadtest/slos/ loaded, scraping every second), then runs `slo-compiler loadtest run` with
Locust twice: healthy traffic (exit 0), `slo-compiler doctor` (exit 0: every assumption
holds), then with a payment 5xx storm (exit 1, the payment SLO's page tier named). The
SLOs use a 1d period and a 1s scrape so that a run of half a minute exercises the page
tiers; real SLOs use 28-30d and the platform's 10-15s.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import stack


def gate(s: stack.Stack, seconds: int) -> int:
    command = [
        sys.executable,
        "-m",
        "slo_compiler",
        "loadtest",
        "run",
        "--prometheus",
        s.prometheus,
        "--slos",
        str(stack.SLOS),
        "--config",
        str(s.config),
        "--settle",
        "3s",
        "--",
        *stack.locust(s.simulator, seconds),
    ]
    return subprocess.run(command, check=False, env=stack.ENV).returncode


def doctor(s: stack.Stack) -> int:
    """What the live Prometheus says about each SLO's assumptions (metrics, scrape
    interval, targets, buckets, rules)."""
    command = [sys.executable, "-m", "slo_compiler", "doctor", "--prometheus", s.prometheus]
    command += ["--slos", str(stack.SLOS), "--config", str(s.config)]
    return subprocess.run(command, check=False, env=stack.ENV).returncode


def missing() -> list[str]:
    """What the demo needs and this machine lacks, as the commands that install it."""
    needs = []
    if not all(shutil.which(tool) for tool in ("prometheus", "promtool")):
        needs.append("apt-get install -y prometheus")
    if not all(importlib.util.find_spec(m) for m in ("locust", "prometheus_client")):
        needs.append(f"{sys.executable} -m pip install -e '.[demo]'")
    return needs


def main() -> int:
    needs = missing()
    if needs:
        print(f"the demo needs: {' and '.join(needs)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="slo-demo-") as work, stack.running(Path(work)) as s:
        print(f"== healthy: {s.simulator}, Prometheus {s.prometheus}", flush=True)
        healthy = gate(s, 20)
        print(f"== exit {healthy} (expected 0)\n", flush=True)
        print("== doctor: what Prometheus says about each SLO's assumptions", flush=True)
        checked = doctor(s)
        print(f"== exit {checked} (expected 0)\n", flush=True)
        s.fault(payment_5xx=True)
        print("== payment 5xx storm", flush=True)
        storm = gate(s, 20)
        print(f"== exit {storm} (expected 1: the payment SLO's page tier)", flush=True)
    return 0 if (healthy, checked, storm) == (0, 0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
