"""Rule-evaluation cost, accuracy and alert timing in a real Prometheus: the rules
slo-compiler emits for one 30d SLO, Sloth's real output for the same SLI and Pyrra-shaped
rules, on synthetic traffic of one SLI spread over more and more raw series.

    python bench/rule_eval.py [--series 8 2048] [--interval 30s]   # needs prometheus, promtool

Two parts, each on 127.0.0.1 in a temporary folder, Prometheus stopped at the end:

1. **Accuracy and timing** (the first --series, --days of history): traffic that follows
   the day (x0.2 at night, x1.8 at the peak) with an error ratio higher at night (0.1% by
   day, up to 0.6% in the small hours), and six incidents 4 days apart (a 10% error
   ratio, a 20x burn of the 99.5% SLO, for --incident hours). Backfilled with `promtool
   tsdb create-blocks-from openmetrics`, then the recorded series each style's windows
   read, level by level with
   `create-blocks-from rules` (ours: the 30s slices, then the 4m slices and 5m rates made of
   them; Sloth's 5m ratio). Printed: the period's ratio against the exact one; each window's
   ratio against the same window over the raw counters, hourly over a day at 15s past
   the minute (where the slices' phase puts an alert on average); each tier's firing time
   in the incidents against the same tier on the raw counters (what `verify` replays, the
   SRE workbook's timing) and against explain's prediction.
2. **Cost against cardinality** (each --series, --hours of history): the same aggregate
   traffic spread over pods x uris x statuses. Samples each rule reads per evaluation come
   from the query statistics at the end of the data, times its group's evaluations a
   minute; a rule whose range outlasts the history is scaled by range / history (each series
   holds as many samples an hour throughout; the first --series is also measured with full
   windows in part 1, which checks the scaling). Evaluation time per minute is Prometheus'
   own: the engine's time for each rule's expression at the end of the data (query
   statistics, the least of three runs), scaled alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

STEP = 15  # the platform scrapes every 10-15 s
PODS = 4
STATUSES = ("200", "500")
RATE = 50.0  # requests/s of the whole SLI at the day's mean
BUDGET = Decimal("0.005")
SERVICE = 'service="payment-service"'
TOTAL = f"http_server_requests_seconds_count{{{SERVICE}}}"
ERRORS = f'http_server_requests_seconds_count{{{SERVICE},status=~"5.."}}'
INCIDENT_RATIO = 0.1  # a 20x burn of a 99.5% SLO
PHASE = 7  # seconds between the minute and a scrape: an evaluation meets 4 scrapes a minute
# Where the alerts are evaluated, after the slices (recorded on the minute and the half):
# half a fine slice, the average phase between two groups.
OFFSET = 15
INCIDENTS = 6

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from slo_compiler.base.durations import format_duration, parse_duration  # noqa: E402
from slo_compiler.compiler import compile_sources  # noqa: E402
from slo_compiler.live.queries import condition  # noqa: E402
from slo_compiler.live.replay import episodes  # noqa: E402
from slo_compiler.rules.burnrate import SLICE, Tier, decimal_str, detection, is_recorded  # noqa: E402
from slo_compiler.rules.ir import SloPlan  # noqa: E402
from slo_compiler.rules.plan import ExprBuilder  # noqa: E402
from slo_compiler.source.files import discover  # noqa: E402

SLOTH_OUT = ROOT.parent / "shared/fixtures/sloth/out/getting-started.yml"
SLOTH_SLI = (
    'http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}',
    'http_request_duration_seconds_count{job="myservice"}',
)
SLO_FILE = f"""apiVersion: slo-compiler/v1
service: payment-service
slos:
  - name: payment
    objective: 99.5
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
EXACT = f"sum(increase({ERRORS}[30d])) / sum(increase({TOTAL}[30d]))"
NAMES = {
    "ours": "slo-compiler",
    "before": "slo-compiler before #29 (windows under 12h on the counters)",
    "sloth": "Sloth (its generated rules)",
    "pyrra": "Pyrra-shaped (its generator's windows)",
}


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


# -- traffic ----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """`series` raw counters (PODS pods x uris x the statuses) over [start, end], and
    incidents, each from its start for `incident` seconds."""

    series: int
    start: int
    end: int
    incidents: tuple[int, ...] = ()
    incident: int = 0

    @property
    def uris(self) -> int:
        return max(1, self.series // (PODS * len(STATUSES)))

    @property
    def series_kept(self) -> int:
        """The raw series written: `series` rounded to pods x uris x statuses."""
        return PODS * self.uris * len(STATUSES)

    def error_ratio(self, t: int) -> float:
        if any(start <= t < start + self.incident for start in self.incidents):
            return INCIDENT_RATIO
        hour = (t % 86400) / 3600
        night = max(0.0, math.cos((hour - 3) / 24 * 2 * math.pi))
        return 0.001 + 0.005 * night**4

    def write(self, out: Path) -> None:
        """OpenMetrics text, each series' samples together; every series of a status
        carries an equal share of the SLI's traffic."""
        share = 1 / (PODS * self.uris)
        times = range(self.start + PHASE, self.end + 1, STEP)
        per_step = []  # (good, bad) events of the whole SLI in each step
        for t in times:
            hour = (t % 86400) / 3600
            requests = RATE * (1 + 0.8 * math.sin((hour - 9) / 24 * 2 * math.pi)) * STEP
            bad = requests * self.error_ratio(t)
            per_step.append((requests - bad, bad))
        with out.open("w") as f:
            f.write("# TYPE http_server_requests_seconds_count unknown\n")
            for pod in range(PODS):
                for uri in range(self.uris):
                    for which, status in enumerate(STATUSES):
                        labels = (
                            f'{SERVICE},instance="10.244.0.{pod}:8080",'
                            f'uri="/api/payments/{uri}",status="{status}"'
                        )
                        value = 0.0
                        lines = []
                        for t, events in zip(times, per_step, strict=True):
                            value += events[which] * share
                            lines.append(
                                f"http_server_requests_seconds_count{{{labels}}} {value:.3f} {t}\n"
                            )
                        f.writelines(lines)
            f.write("# EOF\n")


# -- Prometheus -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, path: str, **params: str) -> dict:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}?{query}", timeout=600) as r:
        return json.loads(r.read())


class Prometheus:
    """A Prometheus on 127.0.0.1 over `work/data`, stopped on exit."""

    def __init__(self, work: Path, rule_files: tuple[Path, ...] = (), interval: str = "15s"):
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
                "--query.max-samples=500000000",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(240):
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
        self.process.wait(timeout=120)


def query(port: int, expr: str, at: float) -> tuple[float, int, float]:
    """The value of `expr` at `at` (NaN if empty), the samples the query touched, and the
    seconds Prometheus' engine took to evaluate it (the least of three runs): what a rule
    of that expression costs at each evaluation."""
    seconds = []
    for _ in range(3):
        body = api(port, "/api/v1/query", query=expr, time=str(at), stats="all")
        seconds.append(float(body["data"]["stats"]["timings"]["evalTotalTime"]))
    result = body["data"]["result"]
    value = float(result[0]["value"][1]) if result else float("nan")
    return value, int(body["data"]["stats"]["samples"]["totalQueryableSamples"]), min(seconds)


def holds(port: int, expr: str, start: int, end: int, step: int) -> set[float]:
    """The steps of [start, end] where a condition holds (its range query's points)."""
    found: set[float] = set()
    for a in range(start, end + 1, step * 10_000):
        b = min(end, a + step * 9_999)
        body = api(
            port, "/api/v1/query_range", query=expr, start=str(a), end=str(b), step=str(step)
        )
        found |= {float(t) for r in body["data"]["result"] for t, _ in r["values"]}
    return found


def backfill(work: Path, levels: list[list[tuple[Path, int]]], start: int, end: int) -> float:
    """Record rule files into the TSDB over [start, end], each at its interval, level by
    level: a level reads what the ones before it recorded (Prometheus restarted between,
    so that it loads the new blocks). Returns the seconds it took."""
    began = time.perf_counter()
    for level in levels:
        with Prometheus(work) as prom:
            for rules, every in level:
                subprocess.run(
                    ["promtool", "tsdb", "create-blocks-from", "rules", "-q",
                     f"--url=http://127.0.0.1:{prom.port}", f"--start={start}",
                     f"--end={end}", f"--eval-interval={every}s",
                     f"--output-dir={work / 'data'}", str(rules)],
                    check=True, capture_output=True,
                )  # fmt: skip
    return time.perf_counter() - began


# -- rule files -------------------------------------------------------------------------


def _rules(path: Path) -> list[tuple[dict, dict]]:
    return [(g, r) for g in yaml.safe_load(path.read_text())["groups"] for r in g["rules"]]


def _write(path: Path, rules: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"groups": [{"name": "level", "rules": rules}]}))
    return path


def every_of(group: dict, interval: int) -> int:
    return parse_duration(group["interval"]) if "interval" in group else interval


def compiled(work: Path, interval: str) -> tuple[Path, SloPlan]:
    """Our rule file for the SLO (alerts in it, rules every `interval`) and its plan."""
    (work / "slos").mkdir(exist_ok=True)
    (work / "slos/payment-service.yaml").write_text(SLO_FILE)
    (work / "config.yaml").write_text(
        f"apiVersion: slo-compiler/v1\nevaluation_interval: {interval}\n"
    )
    subprocess.run(
        [sys.executable, "-m", "slo_compiler", "compile", "-q", "--config", "config.yaml",
         "--target", "prometheus", "--out", "gen"],
        check=True, cwd=work, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    [rule_file] = (work / "gen/prometheus").glob("payment-service.*.rules.yaml")
    plan = compile_sources(discover(str(work / "slos"))).plans[0].slos[0]
    return rule_file, plan


def before_rules(plan: SloPlan, interval: int) -> tuple[str, dict[Tier, str]]:
    """Our rules as they were before every window was summed from slices (the 5m rates
    and the windows under 12h on the counters, 4m slices of the counters), with
    `before:` names so that they do not meet ours in the TSDB; and each tier's condition
    with every window written out (only the rates and slices are backfilled)."""
    build = ExprBuilder(plan.query, plan.group_by, plan.selector_labels)
    labels = dict(plan.series_labels)
    query = plan.query

    def rates(window: int) -> list[tuple[str, str]]:
        total, errors = f"before:sli_total:rate{window}s", f"before:sli_errors:rate{window}s"
        present = build.sum_recorded(total)
        errors_expr = f"{build.errors_over(query, window)}\nor 0 * {present}"
        return [(total, build.sum_rate(query.total, window)), (errors, errors_expr)]

    def ratio(window: int) -> str:
        if window == 300:
            return build.recorded_ratio(
                *(
                    build.recorded(m)
                    for m in ("before:sli_errors:rate300s", "before:sli_total:rate300s")
                )
            )
        if not is_recorded(window):
            return build.counter_ratio(window, build.sum_recorded("before:sli_total:rate300s"))
        over = [
            f"sum_over_time({build.recorded(m)}[{window}s])"
            for m in (f"before:sli_errors:rate{SLICE}s", f"before:sli_total:rate{SLICE}s")
        ]
        return build.recorded_ratio(*over)

    def rule(record: str, expr: str) -> dict:
        return {"record": record, "expr": expr, "labels": labels}

    base = [rule(m, e) for m, e in rates(300)]
    slow = [rule(m, e) for m, e in rates(SLICE)]
    for w in plan.windows:
        (slow if is_recorded(w) else base).append(
            rule(f"before:sli_error:ratio_rate{w}s", ratio(w))
        )
    conditions = {}
    for tier in plan.tiers:
        b, f = decimal_str(plan.budget), decimal_str(tier.factor)
        # Summed to drop the labels: the counters' windows have none, the recorded ones do.
        parts = [f"(sum({ratio(w)}) / {b} > {f})" for w in (tier.long_window, tier.short_window)]
        conditions[tier] = "\nand\n".join(parts)
        recorded = [
            f"{build.recorded(f'before:sli_error:ratio_rate{w}s')} / {b} > {f}"
            for w in (tier.long_window, tier.short_window)
        ]
        base.append({"alert": "Before", "expr": "\nand\n".join(recorded), "for": f"{tier.for_}s"})
    groups = [
        {"name": "before", "rules": base},
        {"name": "before:slow", "interval": f"{SLICE}s", "rules": slow},
    ]
    return yaml.safe_dump({"groups": groups}), conditions


def rule_files(work: Path, ours: Path, plan: SloPlan, interval: int) -> dict[str, Path]:
    sloth = SLOTH_OUT.read_text()
    for theirs, mine in zip(SLOTH_SLI, (ERRORS, TOTAL), strict=True):
        sloth = sloth.replace(theirs, mine)
    (work / "sloth.rules.yaml").write_text(sloth)
    (work / "pyrra.rules.yaml").write_text(pyrra_rules())
    (work / "before.rules.yaml").write_text(before_rules(plan, interval)[0])
    return {
        "ours": ours,
        "before": work / "before.rules.yaml",
        "sloth": work / "sloth.rules.yaml",
        "pyrra": work / "pyrra.rules.yaml",
    }


def recorded_levels(
    files: dict[str, Path], work: Path, interval: int
) -> list[list[tuple[Path, int]]]:
    """What the windows read, level by level: our fine slices, the rates and slices of our
    rules before #29 and Sloth's 5m ratio (on the counters), then our coarse slices and 5m
    rates (on the fine slices)."""
    ours = _rules(files["ours"])
    fine = [(g, r) for g, r in ours if g["name"].endswith(":slices")]
    made = [
        (g, r)
        for g, r in ours
        if r.get("record", "").startswith(("slo:sli_total:", "slo:sli_errors:"))
        and (g, r) not in fine
    ]
    sloth_5m = _rules(files["sloth"])[:1]
    before = [
        (_write(work / f"before-{i}.yaml", [r]), every_of(g, interval))
        for i, (g, r) in enumerate(_rules(files["before"]))
        if r.get("record", "").startswith(("before:sli_total:", "before:sli_errors:"))
    ]
    return [
        [
            *before,
            (_write(work / "fine.yaml", [r for _, r in fine]), every_of(fine[0][0], 0)),
            (_write(work / "sloth-5m.yaml", [r for _, r in sloth_5m]), 30),
        ],
        [
            (_write(work / f"made-{i}.yaml", [r]), every_of(g, interval))
            for i, (g, r) in enumerate(made)
        ],
    ]


_RANGE = re.compile(r"\[(\d+[smhdwy][0-9smhdwy]*)\]")


@dataclass(frozen=True)
class Cost:
    """What a rule file costs Prometheus a minute: samples read and evaluation time."""

    rules: int
    samples: float
    ms: float


def per_minute(port: int, path: Path, interval: int, at: int, history: int) -> Cost:
    """What the file's rules cost a minute with every window full: each rule's samples and
    evaluation time at `at`, scaled by range / history where its longest range outlasts
    the history, times its group's evaluations a minute."""
    samples = ms = 0.0
    rules = _rules(path)
    for group, rule in rules:
        longest = max((parse_duration(r) for r in _RANGE.findall(rule["expr"])), default=0)
        scale = max(1.0, longest / history) * 60 / every_of(group, interval)
        _, read, seconds = query(port, rule["expr"], at)
        samples += read * scale
        ms += seconds * 1000 * scale
    return Cost(len(rules), samples, ms)


# -- the two parts ----------------------------------------------------------------------


def _load(work: Path, history: History) -> None:
    history.write(work / "traffic.om")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
         str(work / "traffic.om"), str(work / "data")],
        check=True,
    )  # fmt: skip
    (work / "traffic.om").unlink()


def _fired(port: int, expr: str, tier: Tier, history: History, step: int) -> float | None:
    """Mean minutes from each incident's start until an alert of `expr` fires (its `for`
    applied as Prometheus applies it: replay.py); None if one never fires."""
    took = []
    for incident in history.incidents:
        start, stop = incident - 3600 + OFFSET, incident + history.incident
        times = [float(t) for t in range(start, stop + 1, step)]
        found = episodes(times, holds(port, expr, start, stop, step), tier.for_)
        first = next((e.fired for e in found if e.fired and e.fired >= incident), None)
        if first is None:
            return None
        took.append((first - incident) / 60)
    return sum(took) / len(took)


def _minutes(m: float | None) -> str:
    return "never" if m is None else f"{m:.1f}"


def accuracy(args: argparse.Namespace, work: Path) -> dict[str, Cost]:
    """Part 1: prints the period's ratio, each window's and each tier's timing; returns
    the costs with every window full."""
    work.mkdir()
    interval = parse_duration(args.interval)
    end = int(time.time()) // 3600 * 3600 - 3 * 3600  # backfill must not reach the head block
    # Four days apart (no 3d window holds two), each at its own phase against the 30s and
    # 4m slices (97s more each time): a tier's time is the mean over the phases.
    last = end - 14 * 3600
    incidents = tuple(last - k * (4 * 86400 + 97) for k in range(INCIDENTS))
    history = History(
        args.series[0], end - args.days * 86400, end, incidents, int(args.incident * 3600)
    )
    _load(work, history)
    ours, plan = compiled(work, args.interval)
    files = rule_files(work, ours, plan, interval)
    took = backfill(work, recorded_levels(files, work, interval), end - 31 * 86400, end)
    ours_rules = {r.get("record"): r["expr"] for _, r in _rules(ours)}
    before = before_rules(plan, interval)[1]

    def inline(expr: str) -> str:
        """An expression with our recorded windows replaced by their expressions (only the
        slices and rates the windows read are backfilled)."""
        for record, body in ours_rules.items():
            if record and record.startswith("slo:sli_error:ratio_rate"):
                expr = re.sub(re.escape(record) + r"\{[^}]*\}", f"({body})", expr)
        return expr

    with Prometheus(work) as prom:
        span = 31 * 86400
        costs = {n: per_minute(prom.port, p, interval, end, span) for n, p in files.items()}
        exact, exact_samples, _ = query(prom.port, EXACT, end)
        thirty = {
            "ours": ours_rules["slo:sli_error:ratio_rate30d"],
            "sloth": next(r["expr"] for _, r in _rules(files["sloth"])
                          if r.get("record") == "slo:sli_error:ratio_rate30d"),
            "pyrra": EXACT,
        }  # fmt: skip
        period = {n: query(prom.port, e, end)[:2] for n, e in thirty.items()}
        windows = {}
        for w in (w for w in plan.windows if w < plan.period):
            raw = f"sum(increase({ERRORS}[{w}s])) / sum(increase({TOTAL}[{w}s]))"
            ours_w = ours_rules[f"slo:sli_error:ratio_rate{format_duration(w)}"]
            devs = []
            for hour in range(24):  # the day before the last incident, OFFSET past the minute
                at = last - 86400 + hour * 3600 + OFFSET
                ours_v, raw_v = query(prom.port, ours_w, at)[0], query(prom.port, raw, at)[0]
                devs.append(abs(ours_v - raw_v) / raw_v)
            windows[w] = max(devs)
        burn = Decimal(repr(INCIDENT_RATIO)) / BUDGET
        timing = []
        for rule in (r for r in plan.alerts if r.tier is not None):
            tier = rule.tier
            ours_m = _fired(prom.port, inline(rule.expr), tier, history, interval)
            raw_m = _fired(prom.port, condition(plan, tier), tier, history, interval)
            before_m = _fired(prom.port, before[tier], tier, history, interval)
            predicted = detection(tier, burn, interval, slices=plan.slices).fires
            shown = None if predicted is None else float(predicted) / 60
            timing.append((tier, ours_m, before_m, raw_m, shown))
    print(f"## Accuracy and timing: {history.series} raw series, {args.days} days, rules every "
          f"{args.interval}\n")  # fmt: skip
    print(f"Backfill of the recorded series the windows read: {took:.0f} s\n")
    print(f"The 30d error ratio at the end of the data; exact: {exact:.6f} "
          f"({exact_samples:,} samples read)\n")  # fmt: skip
    print("| rules of | 30d ratio | error vs exact | samples read by the 30d rule |")
    print("|---|---:|---:|---:|")
    for name, (value, samples) in period.items():
        print(f"| {NAMES[name]} | {value:.6f} | {(value - exact) / exact:+.2%} | {samples:,} |")
    print("\nEach window of ours against the same window over the raw counters, hourly over "
          f"a day ({OFFSET}s past the minute): the largest relative difference\n")  # fmt: skip
    print("| window | largest difference |\n|---|---:|")
    for w, dev in windows.items():
        print(f"| {format_duration(w)} | {dev:.3%} |")
    print(f"\n{INCIDENTS} incidents ({INCIDENT_RATIO:.0%} errors, a {burn:f}x burn, for "
          f"{args.incident:g}h, 4 days apart, each at its own phase against the slices): mean "
          "minutes from their start until each tier fires\n")  # fmt: skip
    print("| tier | windows | ours | before #29 | ours - before | on the raw counters | "
          "explain predicts |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    for tier, ours_m, before_m, raw_m, predicted in timing:
        diff = "" if ours_m is None or before_m is None else f"{ours_m - before_m:+.1f}"
        print(f"| {tier.name} | {format_duration(tier.long_window)}/"
              f"{format_duration(tier.short_window)} | {_minutes(ours_m)} | "
              f"{_minutes(before_m)} | {diff} | {_minutes(raw_m)} | "
              f"{_minutes(predicted)} |")  # fmt: skip
    print(f"\n## Cost with every window full: {history.series} raw series\n")
    print("| rules of | rules | samples read per minute | ours / this | evaluation ms per minute |")
    print("|---|---:|---:|---:|---:|")
    for name, cost in costs.items():
        print(f"| {NAMES[name]} | {cost.rules} | {cost.samples:,.0f} | "
              f"{costs['ours'].samples / cost.samples:.3f} | {cost.ms:.1f} |")  # fmt: skip
    return costs


def cardinality(args: argparse.Namespace, work: Path, series: int) -> dict[str, Cost]:
    """Part 2: what each style costs a minute at `series` raw series (windows scaled)."""
    interval = parse_duration(args.interval)
    end = int(time.time()) // 3600 * 3600 - 3 * 3600
    history = History(series, end - int(args.hours * 3600), end)
    _load(work, history)
    ours, plan = compiled(work, args.interval)
    files = rule_files(work, ours, plan, interval)
    backfill(work, recorded_levels(files, work, interval), history.start, end)
    with Prometheus(work) as prom:
        span = end - history.start
        return {n: per_minute(prom.port, p, interval, end, span) for n, p in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interval", default="30s", help="the rule evaluation interval")
    parser.add_argument("--series", type=int, nargs="+", default=[8, 2048],
                        help="raw series of the SLI (pods x uris x statuses)")  # fmt: skip
    parser.add_argument("--days", type=int, default=32, help="history of part 1")
    parser.add_argument("--hours", type=float, default=7, help="history of part 2")
    parser.add_argument("--incident", type=float, default=5, help="hours of the incident")
    args = parser.parse_args()
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian package prometheus)")
    if not SLOTH_OUT.is_file():
        raise SystemExit(f"Sloth's generated rules are needed: {SLOTH_OUT}")
    with tempfile.TemporaryDirectory() as tmp:
        full = accuracy(args, Path(tmp) / "accuracy")
    rows = {}
    for series in args.series:
        with tempfile.TemporaryDirectory() as tmp:
            rows[series] = cardinality(args, Path(tmp), series)
    first = args.series[0]
    print(
        f"\n## Cost against cardinality: the same traffic over more raw series, "
        f"{args.hours:g}h of history, windows scaled to full, rules every {args.interval}\n"
    )
    print(f"| raw series | rules of | samples read per minute | x at {first} series | "
          "evaluation ms per minute |")  # fmt: skip
    print("|---:|---|---:|---:|---:|")
    for series, costs in rows.items():
        for name, cost in costs.items():
            growth = cost.samples / rows[first][name].samples
            print(f"| {series:,} | {NAMES[name]} | {cost.samples:,.0f} | {growth:.2f} | "
                  f"{cost.ms:.1f} |")  # fmt: skip
        raw = History(series, 0, 0)
        floor = raw.series_kept * (1 + 1 / len(STATUSES)) * 60 / STEP
        print(f"| {raw.series_kept:,} | (the raw samples the selectors match a minute: no rule "
              f"set that reads each can read fewer) | {floor:,.0f} | | |")  # fmt: skip
    print(
        f"\nScaling check at {first} series: ours {rows[first]['ours'].samples:,.0f} scaled "
        f"from {args.hours:g}h, {full['ours'].samples:,.0f} with {args.days} days of history."
    )


if __name__ == "__main__":
    sys.exit(main())
