"""Rule-evaluation cost and 30d accuracy in a real Prometheus: our rules against
Sloth-shaped and Pyrra-shaped rules for the same SLI, on 32 days of backfilled traffic.

    python bench/rule_eval.py            # prints a Markdown report; needs prometheus, promtool

What it does, all on 127.0.0.1 and in a temporary folder, stopped at the end:

1. synthesises 32 days of one-minute samples of a request counter and an error counter
   whose traffic follows the day (x0.2 at night, x1.8 at the peak) and whose error ratio
   is higher at night (0.1% by day, up to 0.6% in the small hours): exactly the case where
   an average of ratios and an event-weighted ratio differ;
2. backfills them with `promtool tsdb create-blocks-from openmetrics`, then our recorded
   5m base rates with `promtool tsdb create-blocks-from rules` (a 30d window summed from
   recorded rates needs 30 days of them);
3. starts Prometheus with three rule files, one style each, and reads every rule group's
   evaluation time after several evaluations, and the samples each style's 30d ratio
   query touches (query stats);
4. compares each style's 30d ratio with the exact one,
   increase(errors[30d]) / increase(total[30d]).
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

DAYS = 32
STEP = 15  # the platform scrapes every 10-15 s
INSTANCES = 4  # pods of the service, each its own series
JOB = 'service="payment-service"'
TOTAL = f"http_server_requests_seconds_count{{{JOB}}}"
ERRORS = f'http_server_requests_seconds_count{{{JOB},status=~"5.."}}'
SELECT = 'slo="payment",slo_service="payment-service"'

# Our style, as slo-compiler emits it: short windows from the counters, the 1d/3d/30d
# windows summed from recorded 5m rates.
OURS = (
    f"""
groups:
  - name: ours-base
    rules:
      - record: slo:sli_total:rate5m
        expr: sum(rate({TOTAL}[5m]))
        labels: {{slo: payment, slo_service: payment-service}}
      - record: slo:sli_errors:rate5m
        expr: sum(rate({ERRORS}[5m])) or 0 * sum(rate({TOTAL}[5m]))
        labels: {{slo: payment, slo_service: payment-service}}
  - name: ours-windows
    rules:
"""
    + "".join(
        f"""      - record: ours:ratio_rate{w}
        expr: >-
          sum(rate({ERRORS}[{w}])) / (sum(rate({TOTAL}[{w}])) > 0)
          or 0 * sum(rate({TOTAL}[{w}]))
"""
        for w in ("5m", "30m", "1h", "2h", "6h")
    )
    + "".join(
        f"""      - record: ours:ratio_rate{w}
        expr: >-
          sum_over_time(slo:sli_errors:rate5m{{{SELECT}}}[{w}])
          / clamp_min(sum_over_time(slo:sli_total:rate5m{{{SELECT}}}[{w}]), 1e-12)
"""
        for w in ("1d", "3d", "30d")
    )
)


def _raw_windows(style: str) -> str:
    """A rule group of `style`: the ratio over every window by rate() on the counters, as
    both Sloth and Pyrra write it; the caller appends its 30d rule."""
    rules = "".join(
        f"""      - record: {style}:ratio_rate{w}
        expr: sum(rate({ERRORS}[{w}])) / sum(rate({TOTAL}[{w}]))
"""
        for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
    )
    return f"groups:\n  - name: {style}-windows\n    rules:\n{rules}"


# Sloth's shape: the period as the average of the 5m ratios over 30 days.
SLOTH = (
    _raw_windows("sloth")
    + """      - record: sloth:ratio_rate30d
        expr: >-
          sum_over_time(sloth:ratio_rate5m[30d])
          / ignoring (sloth_window) count_over_time(sloth:ratio_rate5m[30d])
"""
)

# Pyrra's shape: the period by increase() over 30 days of raw samples.
PYRRA = (
    _raw_windows("pyrra")
    + f"""      - record: pyrra:ratio_increase30d
        expr: sum(increase({ERRORS}[30d])) / sum(increase({TOTAL}[30d]))
"""
)

STYLES = {
    "ours (recorded 5m rates)": "ours:ratio_rate30d",
    "Sloth-shaped (average of 5m ratios)": "sloth:ratio_rate30d",
    "Pyrra-shaped (increase over raw samples)": "pyrra:ratio_increase30d",
}
EXACT = f"sum(increase({ERRORS}[30d])) / sum(increase({TOTAL}[30d]))"


def traffic(end: int, out: Path) -> None:
    """OpenMetrics text: per instance, two counters every STEP for DAYS days to `end`."""
    start = end - DAYS * 86400
    with out.open("w") as f:
        f.write("# TYPE http_server_requests_seconds_count unknown\n")
        for i in range(INSTANCES):
            for status, series in (("200", "ok"), ("500", "bad")):
                f.writelines(_samples(start, end, i, status, series))
        f.write("# EOF\n")


def _samples(start: int, end: int, instance: int, status: str, which: str) -> list[str]:
    """One counter's samples (OpenMetrics wants each series' samples together)."""
    total = errors = 0.0
    out = []
    labels = f'{JOB},instance="10.244.0.{instance}:8080",status="{status}"'
    for t in range(start, end, STEP):
        hour = (t % 86400) / 3600
        rate = 50 * (1 + 0.8 * math.sin((hour - 9) / 24 * 2 * math.pi))  # requests/s
        night = max(0.0, math.cos((hour - 3) / 24 * 2 * math.pi))
        ratio = 0.001 + 0.005 * night**4
        requests = rate * STEP / INSTANCES
        failed = requests * ratio
        total += requests - failed
        errors += failed
        value = total if which == "ok" else errors
        out.append(f"http_server_requests_seconds_count{{{labels}}} {value:.3f} {t}\n")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, path: str, **params: str) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}?{query}", timeout=120) as r:
        return json.loads(r.read())


class Prometheus:
    """A Prometheus on 127.0.0.1 over `data`, stopped on exit."""

    def __init__(self, work: Path, rule_files: list[Path], interval: str = "15s") -> None:
        self.port = free_port()
        config = work / "prometheus.yml"
        config.write_text(
            f"global: {{evaluation_interval: {interval}}}\n"
            f"rule_files: {json.dumps([str(p) for p in rule_files])}\n"
        )
        self.process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={work / 'data'}",
                "--storage.tsdb.retention.time=60d",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(120):
            try:
                if api(self.port, "/api/v1/status/runtimeinfo")["status"] == "success":
                    return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("Prometheus did not start")

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def scalar(port: int, expr: str, at: int) -> tuple[float, int]:
    """The value of `expr` at `at` and the samples the query touched."""
    body = api(port, "/api/v1/query", query=expr, time=str(at), stats="all")
    result = body["data"]["result"]
    value = float(result[0]["value"][1]) if result else float("nan")
    return value, int(body["data"]["stats"]["samples"]["totalQueryableSamples"])


def main() -> None:
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian package prometheus)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        end = int(time.time()) // STEP * STEP - 3600  # backfill must not reach the head block
        traffic(end, work / "traffic.om")
        subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(work / "traffic.om"),
                str(work / "data"),
            ],
            check=True,
        )
        files = {}
        for name, text in (("ours", OURS), ("sloth", SLOTH), ("pyrra", PYRRA)):
            files[name] = work / f"{name}.rules.yaml"
            files[name].write_text(text)
        base = work / "base.rules.yaml"
        base.write_text(OURS.split("  - name: ours-windows")[0])
        sloth_base = work / "sloth-base.rules.yaml"
        sloth_base.write_text(SLOTH.split("      - record: sloth:ratio_rate30m")[0])
        # Backfill the series the 30d windows are summed from: our base rates and Sloth's
        # 5m ratio, over the 31 days the 30d windows need.
        with Prometheus(work, []) as prom:
            started = time.perf_counter()
            for rules in (base, sloth_base):
                subprocess.run(
                    [
                        "promtool",
                        "tsdb",
                        "create-blocks-from",
                        "rules",
                        "-q",
                        f"--url=http://127.0.0.1:{prom.port}",
                        f"--start={end - 31 * 86400}",
                        f"--end={end}",
                        "--eval-interval=60s",
                        f"--output-dir={work / 'data'}",
                        str(rules),
                    ],
                    check=True,
                    capture_output=True,
                )
            backfill = time.perf_counter() - started
        rule_files = [files["ours"], files["sloth"], files["pyrra"]]
        with Prometheus(work, rule_files) as prom:
            time.sleep(70)  # several evaluations of every group
            groups = {g["name"]: g for g in api(prom.port, "/api/v1/rules")["data"]["groups"]}
            exact, exact_samples = scalar(prom.port, EXACT, end)
            rows = []
            for style, metric in STYLES.items():
                expr = next(
                    r["query"] for g in groups.values() for r in g["rules"] if r["name"] == metric
                )
                value, samples = scalar(prom.port, expr, end)
                seconds = next(
                    r["evaluationTime"]
                    for g in groups.values()
                    for r in g["rules"]
                    if r["name"] == metric
                )
                rows.append((style, value, samples, seconds))
        print(f"Backfill of the recorded series the 30d windows read: {backfill:.0f} s\n")
        print("| rule group | rules | evaluation time (last) |")
        print("|---|---:|---:|")
        for name, g in sorted(groups.items()):
            print(f"| {name} | {len(g['rules'])} | {g['evaluationTime'] * 1000:.1f} ms |")
        print(
            f"\nThe 30d error ratio at the end of the data; exact: {exact:.6f} "
            f"({exact_samples} samples read)\n"
        )
        print("| style | 30d ratio | error vs exact | samples read | 30d rule evaluation |")
        print("|---|---:|---:|---:|---:|")
        for style, value, samples, seconds in rows:
            print(
                f"| {style} | {value:.6f} | {(value - exact) / exact:+.1%} | {samples} "
                f"| {seconds * 1000:.1f} ms |"
            )


if __name__ == "__main__":
    sys.exit(main())
