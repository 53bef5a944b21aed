"""A local stack for load tests: the platform simulator and a real Prometheus (Debian's
package) on 127.0.0.1, scraping the simulator every second and evaluating the compiled
rules of `loadtest/slos/` every second. Used by the demo and by the end-to-end test; every
process is started on a free port with temporary storage and stopped by its pid."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLOS = HERE / "slos"
CONFIG = "apiVersion: slo-compiler/v1\nevaluation_interval: 1s\n"
# slo-compiler from this checkout, whatever copy is installed.
ENV = {**os.environ, "PYTHONPATH": str(HERE.parent)}


@dataclass(frozen=True)
class Stack:
    simulator: str  # URL
    prometheus: str  # URL
    config: Path  # the slo-compiler config the rules were compiled with
    simulator_pid: int  # to crash it in a test

    def fault(self, **switches: bool) -> None:
        """Switch the simulator's faults (payment_5xx, lock_leak, slow_queue)."""
        body = str(switches).replace("'", '"').replace("True", "true").replace("False", "false")
        request = urllib.request.Request(
            f"{self.simulator}/faults", data=body.encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=5).close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, log: Path) -> None:
    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-2000:]}")


def wait_scraped(url: str, job: str, within: float = 10) -> None:
    """Until Prometheus has scraped `job` once (a gate asks for its metrics at once); its
    first scrape falls anywhere in the first scrape interval, hence `within`."""
    query = urllib.parse.urlencode({"query": f'up{{job="{job}"}} == 1'})
    for _ in range(int(within * 10)):
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as answer:
            if json.load(answer)["data"]["result"]:
                return
        time.sleep(0.1)
    raise RuntimeError(f"Prometheus at {url} did not scrape {job}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def compile_rules(work: Path) -> Path:
    """The load-test SLOs compiled to Prometheus rules under `work`; the config used."""
    config = work / "slo-compiler.yaml"
    config.write_text(CONFIG)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "slo_compiler",
            "compile",
            "-q",
            "--slos",
            str(SLOS),
            "--config",
            str(config),
            "--target",
            "prometheus",
            "--out",
            str(work / "gen"),
        ],
        check=True,
        env=ENV,
    )
    return config


@contextmanager
def running(work: Path, *faults: str) -> Iterator[Stack]:
    """The simulator (with `faults` on) and Prometheus, until the block ends."""
    config = compile_rules(work)
    sim_port = free_port()
    simulator = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "simulator.py"),
            "--port",
            str(sim_port),
            # Conflicts by design, but well under the seat SLO's 5% budget (about 1%), so a
            # healthy run also passes the locustfile's client-side thresholds.
            "--lock-hold",
            "0.005",
            "--admit-after",
            "0.3",
            "--slow-wait",
            "4",
            *(f"--fault={f}" for f in faults),
        ],
        stdout=(work / "simulator.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    rules = f"rule_files: ['{work}/gen/prometheus/*.rules.yaml']\n"
    try:
        wait_ready(f"http://127.0.0.1:{sim_port}/metrics", work / "simulator.log")
        with scraping(work, "platform", sim_port, "1s", "1s", rules) as url:
            yield Stack(f"http://127.0.0.1:{sim_port}", url, config, simulator.pid)
    finally:
        _stop(simulator)


@contextmanager
def scraping(
    work: Path, job: str, port: int, interval: str, evaluation: str, extra: str = ""
) -> Iterator[str]:
    """A Prometheus scraping 127.0.0.1:`port` as `job` every `interval` (`extra`: more of
    its config), once it has scraped it; yields its URL."""
    config_text = (
        f"global: {{scrape_interval: {interval}, evaluation_interval: {evaluation}}}\n{extra}"
        "scrape_configs:\n"
        f"  - job_name: {job}\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    with prometheus(work, config_text) as url:
        # The first scrape falls anywhere in the first interval.
        wait_scraped(url, job, within=float(interval.rstrip("s")) + 10)
        yield url


Sample = tuple[str, float, int]  # series (name and labels), value, unix seconds


def openmetrics(families: dict[str, list[Sample]]) -> str:
    """OpenMetrics text of families (name -> samples: counters where every series is
    `<name>_total`, else gauges), each series' samples together as the format requires,
    for `promtool tsdb create-blocks-from openmetrics`."""
    lines = []
    for family, samples in families.items():
        counter = all(series.startswith(f"{family}_total") for series, _, _ in samples)
        lines.append(f"# TYPE {family} {'counter' if counter else 'gauge'}")
        order = {series: i for i, (series, _, _) in enumerate(dict.fromkeys(samples))}
        by_series = sorted(samples, key=lambda s: (order[s[0]], s[2]))
        lines += [f"{series} {value} {t}" for series, value, t in by_series]
    return "\n".join([*lines, "# EOF"]) + "\n"


def backfill(work: Path, families: dict[str, list[Sample]]) -> Path:
    """History written as TSDB blocks under work/data (`promtool tsdb create-blocks-from
    openmetrics`), for a Prometheus started on it: exact, timing-free data."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise RuntimeError("promtool not found: apt-get install prometheus")
    (work / "history.om").write_text(openmetrics(families))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "history.om", "data"],
        cwd=work,
        check=True,
        capture_output=True,
        # promtool writes about ten thousand samples a second here: months take minutes.
        timeout=max(120, sum(len(v) for v in families.values()) // 5000),
    )
    return work / "data"


@contextmanager
def history(work: Path, families: dict[str, list[Sample]], config: str) -> Iterator[str]:
    """A real Prometheus serving `families` as backfilled history; yields its URL."""
    backfill(work, families)
    with prometheus(work, config) as url:
        yield url


@contextmanager
def serve(command: list[str], port: int, ready: str, log: Path) -> Iterator[str]:
    """A server started with `command` on 127.0.0.1:`port`, its stderr in `log`, waited for
    until `ready` (a path) answers 200; yields its URL, stops it by its pid at the end."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}{ready}", log)
        yield url
    finally:
        _stop(process)


@contextmanager
def prometheus(work: Path, config_text: str) -> Iterator[str]:
    """A real Prometheus on a free port with its data in work/data; yields its URL."""
    server = shutil.which("prometheus")
    if server is None:
        raise RuntimeError("prometheus not found: apt-get install prometheus")
    (work / "prometheus.yml").write_text(config_text)
    port = free_port()
    command = [
        server,
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        # Backfilled history of months stays (the default keeps 15 days).
        "--storage.tsdb.retention.time=400d",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with serve(command, port, "/-/ready", work / "prometheus.log") as url:
        yield url


@contextmanager
def alertmanager(work: Path, config: Path) -> Iterator[str]:
    """A real Alertmanager (Debian's prometheus-alertmanager) on a free port, serving
    `config`, alone (no cluster), its state in work/alertmanager; yields its URL."""
    server = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if server is None:
        raise RuntimeError("alertmanager not found: apt-get install prometheus-alertmanager")
    port = free_port()
    command = [
        server,
        f"--config.file={config}",
        f"--storage.path={work / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with serve(command, port, "/-/ready", work / "alertmanager.log") as url:
        yield url


def locust(host: str, seconds: int, users: int = 10) -> list[str]:
    """The Locust command for the three flows, headless, exiting 0 on request errors (the
    server-side gate judges them)."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "-H",
        host,
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]


@contextmanager
def fastapi_app(work: Path, scrape_interval: str, fail_every: int) -> Iterator[tuple[str, str]]:
    """loadtest/fastapi_app.py (no request served yet) and a Prometheus scraping it every
    `scrape_interval`, once scraped; yields (app URL, Prometheus URL)."""
    port = free_port()
    options = ["--port", str(port), "--fail-every", str(fail_every)]
    app = subprocess.Popen(
        [sys.executable, str(HERE / "fastapi_app.py"), *options],
        stdout=(work / "app.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # Not /metrics: its own scrape would be a request served.
        wait_ready(f"http://127.0.0.1:{port}/docs", work / "app.log")
        with scraping(work, "shop", port, scrape_interval, "15s") as url:
            yield f"http://127.0.0.1:{port}", url
    finally:
        _stop(app)
