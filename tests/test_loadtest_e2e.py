"""The load-test gate end to end, every part real: the platform simulator
(loadtest/simulator.py) with a payment 5xx storm switched on, a real Prometheus scraping
it every second and evaluating the compiled rules every second, Locust driving the three
flows headless (loadtest/locustfile.py), and `slo-compiler loadtest run` gating it. The
payment SLO must fail on its page tier; the seat and queue SLOs, healthy, must pass."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import ROOT, cli, require_tool

pytestmark = pytest.mark.live

SLOS = ROOT / "loadtest/slos"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, log: Path) -> None:
    for _ in range(200):
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    pytest.fail(log.read_text())


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(simulator URL, Prometheus URL, config) with payment_5xx on."""
    server = require_tool("prometheus")
    config = tmp_path / "slo-compiler.yaml"
    config.write_text("apiVersion: slo-compiler/v1\nevaluation_interval: 1s\n")
    compiled = cli(
        "compile",
        "--slos",
        str(SLOS),
        "--config",
        str(config),
        "--target",
        "prometheus",
        "--out",
        "gen",
        cwd=tmp_path,
    )
    assert compiled.returncode == 0, compiled.stderr
    sim_port, prom_port = _free_port(), _free_port()
    sim_log = (tmp_path / "simulator.log").open("w")
    simulator = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "loadtest/simulator.py"),
            "--port",
            str(sim_port),
            "--fault",
            "payment_5xx",
            "--lock-hold",
            "0.02",
            "--admit-after",
            "0.3",
        ],
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: ['{tmp_path}/gen/prometheus/*.rules.yaml']\n"
        "scrape_configs:\n"
        f"  - job_name: platform\n    static_configs: [{{targets: ['127.0.0.1:{sim_port}']}}]\n"
    )
    prometheus = subprocess.Popen(
        [
            server,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    try:
        _wait_ready(f"http://127.0.0.1:{sim_port}/metrics", tmp_path / "simulator.log")
        _wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", tmp_path / "prometheus.log")
        yield f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{prom_port}", config
    finally:
        _stop(prometheus)
        _stop(simulator)


def test_a_payment_storm_fails_the_payment_slo_and_only_it(
    stack: tuple[str, str, Path], tmp_path: Path
) -> None:
    simulator, prometheus, config = stack
    locust = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "loadtest/locustfile.py"),
        "--headless",
        "-H",
        simulator,
        "-u",
        "10",
        "-r",
        "10",
        "-t",
        "15s",
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]
    result = cli(
        "loadtest",
        "run",
        "--prometheus",
        prometheus,
        "--slos",
        str(SLOS),
        "--config",
        str(config),
        "--settle",
        "3s",
        "--format",
        "json",
        "--",
        *locust,
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
