"""Rule-evaluation cost and 30d accuracy in a real Prometheus: the rules slo-compiler emits
for one 30d SLO, Sloth's real output for the same SLI, and Pyrra-shaped rules, on 32 days of
backfilled traffic of 4 pods.

    python bench/rule_eval.py [--interval 30s]   # a Markdown report; needs prometheus, promtool

What it does, all on 127.0.0.1 and in a temporary folder, stopped at the end:

1. synthesises 32 days of 15s samples of a request counter and an error counter per pod
   whose traffic follows the day (x0.2 at night, x1.8 at the peak) and whose error ratio
   is higher at night (0.1% by day, up to 0.6% in the small hours): exactly the case where
   an average of ratios and an event-weighted ratio differ;
2. backfills them with `promtool tsdb create-blocks-from openmetrics`, then the recorded
   series each style's rules read (our 5m rates and 4m slices every 4m, Sloth's 5m ratio)
   with `promtool tsdb create-blocks-from rules`;
3. compiles the SLO with slo-compiler (alerts in the rule file, rules every --interval),
   takes Sloth's own generated rules for its getting-started example
   (../shared/fixtures/sloth/out) with its selectors replaced by this SLI's, and writes
   Pyrra-shaped rules from Pyrra's generator (windows scaled from 28d, the period by
   increase() over the raw counters, its increase group every 150s);
4. asks Prometheus for every rule's expression at the end of the data with query
   statistics: samples read per evaluation, times evaluations per minute (60 / the
   group's interval, else --interval) is what each rule set costs the server per minute;
5. compares each style's 30d ratio with the exact one,
   increase(errors[30d]) / increase(total[30d]).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

DAYS = 32
STEP = 15  # the platform scrapes every 10-15 s
INSTANCES = 4  # pods of the service, each its own series
JOB = 'service="payment-service"'
TOTAL = f"http_server_requests_seconds_count{{{JOB}}}"
ERRORS = f'http_server_requests_seconds_count{{{JOB},status=~"5.."}}'

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from slo_compiler.rules.durations import parse_duration  # noqa: E402

SLOTH_OUT = ROOT.parent / "shared/fixtures/sloth/out/getting-started.yml"
SLOTH_SLI = (
    'http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}',
    'http_request_duration_seconds_count{job="myservice"}',
)
SLO_FILE = f"""apiVersion: slo-compiler/v1
service: payment-service
slos:
  - name: payment
    objective: 99.9
    period: 30d
    sli:
      ratio:
        errors: {ERRORS}
        total: {TOTAL}
"""
# Pyrra's windows for a 30d SLO: its 28d ones (1h/5m 14x, 6h/30m 7x, 1d/2h 2x, 4d/6h 1x)
# scaled by 30/28 and rounded to the minute, as its generator does.
PYRRA_WINDOWS = (
    ("1h4m", "5m", 14),
    ("6h26m", "32m", 7),
    ("1d1h43m", "2h9m", 2),
    ("4d6h51m", "6h26m", 1),
)


def pyrra_rules() -> str:
    """Pyrra-shaped rules for the SLI: the period by increase() over the raw counters (its
    increase group, every 150s for a 30d window), a burn rate per window from the counters
    (every 30s), and the alerts on those."""
    increase = "".join(
        f"""      - record: http_server_requests_seconds:increase30d
        expr: sum(increase({sel}[30d]))
        labels: {{slo: payment, kind: {kind}}}
"""
        for kind, sel in (("errors", ERRORS), ("total", TOTAL))
    )
    windows = sorted({w for long, short, _ in PYRRA_WINDOWS for w in (long, short)})
    burnrates = "".join(
        f"""      - record: http_server_requests_seconds:burnrate{w}
        expr: sum(rate({ERRORS}[{w}])) / sum(rate({TOTAL}[{w}]))
        labels: {{slo: payment}}
"""
        for w in windows
    )
    alerts = "".join(
        f"""      - alert: ErrorBudgetBurn
        expr: >-
          http_server_requests_seconds:burnrate{short}{{slo="payment"}} > ({f} * (1 - 0.999))
          and http_server_requests_seconds:burnrate{long}{{slo="payment"}} > ({f} * (1 - 0.999))
"""
        for long, short, f in PYRRA_WINDOWS
    )
    return (
        "groups:\n  - name: pyrra-increase\n    interval: 150s\n    rules:\n"
        + increase
        + "  - name: pyrra\n    interval: 30s\n    rules:\n"
        + burnrates
        + alerts
    )


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


def _rules(path: Path) -> list[tuple[dict, dict]]:
    return [(g, r) for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def per_minute(port: int, path: Path, interval: int, at: int) -> tuple[float, int]:
    """Samples the rule file's rules read per minute, and how many rules: each rule's
    samples per evaluation (query statistics at `at`) times its group's evaluations a
    minute."""
    total = 0.0
    rules = _rules(path)
    for group, rule in rules:
        every = parse_duration(group["interval"]) if "interval" in group else interval
        total += scalar(port, rule["expr"], at)[1] * 60 / every
    return total, len(rules)


def _write_rules(path: Path, rules: list[tuple[dict, dict]]) -> Path:
    path.write_text(yaml.safe_dump({"groups": [{"name": "base", "rules": [r for _, r in rules]}]}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", default="30s", help="the rule evaluation interval")
    args = parser.parse_args()
    interval = parse_duration(args.interval)
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian package prometheus)")
    if not SLOTH_OUT.is_file():
        raise SystemExit(f"Sloth's generated rules are needed: {SLOTH_OUT}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        end = int(time.time()) // STEP * STEP - 3600  # backfill must not reach the head block
        traffic(end, work / "traffic.om")
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
             str(work / "traffic.om"), str(work / "data")],
            check=True,
        )  # fmt: skip
        (work / "slos").mkdir()
        (work / "slos/payment-service.yaml").write_text(SLO_FILE)
        (work / "config.yaml").write_text(
            f"apiVersion: slo-compiler/v1\nevaluation_interval: {args.interval}\n"
        )
        subprocess.run(
            [sys.executable, "-m", "slo_compiler", "compile", "-q", "--config", "config.yaml",
             "--target", "prometheus", "--out", "gen"],
            check=True, cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        [rule_file] = (work / "gen/prometheus").glob("payment-service.*.rules.yaml")
        files = {"ours": rule_file}
        sloth = SLOTH_OUT.read_text()
        for theirs, ours in zip(SLOTH_SLI, (ERRORS, TOTAL), strict=True):
            sloth = sloth.replace(theirs, ours)
        files["sloth"] = work / "sloth.rules.yaml"
        files["sloth"].write_text(sloth)
        files["pyrra"] = work / "pyrra.rules.yaml"
        files["pyrra"].write_text(pyrra_rules())
        # The recorded series the rules read, over the 31 days the long windows need, each
        # at its group's interval: our 5m rates and 4m slices (every 4m), Sloth's 5m ratio.
        slices = [
            (g, r) for g, r in _rules(files["ours"]) if r.get("record", "").endswith(":rate4m")
        ]
        every_slice = parse_duration(slices[0][0]["interval"])
        bases = [
            (_write_rules(work / "ours-base.yaml", _rules(files["ours"])[:2]), interval),
            (_write_rules(work / "ours-slices.yaml", slices), every_slice),
            (_write_rules(work / "sloth-base.yaml", _rules(files["sloth"])[:1]), interval),
        ]
        with Prometheus(work, []) as prom:
            started = time.perf_counter()
            for base, every in bases:
                subprocess.run(
                    ["promtool", "tsdb", "create-blocks-from", "rules", "-q",
                     f"--url=http://127.0.0.1:{prom.port}", f"--start={end - 31 * 86400}",
                     f"--end={end}", f"--eval-interval={every}s",
                     f"--output-dir={work / 'data'}", str(base)],
                    check=True, capture_output=True,
                )  # fmt: skip
            backfill = time.perf_counter() - started
        with Prometheus(work, []) as prom:
            costs = {
                name: per_minute(prom.port, path, interval, end) for name, path in files.items()
            }
            exact, exact_samples = scalar(prom.port, EXACT, end)
            thirty = {
                "ours": next(r["expr"] for _, r in _rules(files["ours"])
                             if r.get("record") == "slo:sli_error:ratio_rate30d"),
                "sloth": next(r["expr"] for _, r in _rules(files["sloth"])
                              if r.get("record") == "slo:sli_error:ratio_rate30d"),
                "pyrra": EXACT,
            }  # fmt: skip
            accuracy = {name: scalar(prom.port, expr, end) for name, expr in thirty.items()}
    names = {
        "ours": "slo-compiler (compiled)",
        "sloth": "Sloth (its generated rules)",
        "pyrra": "Pyrra-shaped (its generator's windows)",
    }
    print(f"Backfill of the recorded series the long windows read: {backfill:.0f} s\n")
    print(f"## One 30d SLO's whole rule set, {INSTANCES} pods, rules every {args.interval}\n")
    print("| rules of | rules | samples read per minute | ours / this |")
    print("|---|---:|---:|---:|")
    ours = costs["ours"][0]
    for name, (samples, count) in costs.items():
        print(f"| {names[name]} | {count} | {samples:,.0f} | {ours / samples:.3f} |")
    print(f"\n## The 30d error ratio at the end of the data; exact: {exact:.6f} "
          f"({exact_samples:,} samples read)\n")  # fmt: skip
    print("| rules of | 30d ratio | error vs exact | samples read by the 30d rule |")
    print("|---|---:|---:|---:|")
    for name, (value, samples) in accuracy.items():
        print(f"| {names[name]} | {value:.6f} | {(value - exact) / exact:+.1%} | {samples:,} |")


if __name__ == "__main__":
    sys.exit(main())
