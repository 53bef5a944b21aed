"""How long `slo-compiler report` takes for a calendar month against a real Prometheus.

    python bench/report.py [--days 40] [--instances 4] [--interval 15] [--examples]

Needs prometheus and promtool (Debian). All on 127.0.0.1 in a temporary folder: `--days`
of history, one sample a minute (Prometheus' default scrape interval) with a 2h outage
at 20% errors mid-month, backfilled with `promtool tsdb create-blocks-from openmetrics`,
and a Prometheus started on it: a request counter (instances x two status codes) and a
30d SLO on it, or with `--examples` the series of every example SLO (synthesised from
their selectors as the generated tests are). Rules evaluated every `--interval` (the
example config's 15s). Reports the last whole calendar month in process and prints its
wall time beside a reference measured in the same run: one query that reads every
sample of the month once (`count_over_time` over the month), what any report over the
raw counters must at least pay.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtest"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stack

from slo_compiler.compiler import compile_sources
from slo_compiler.live import report as report_module
from slo_compiler.live.client import Client
from slo_compiler.live.timespec import calendar
from slo_compiler.source.files import Source, discover

ROOT = Path(__file__).resolve().parent.parent

SLO = """\
apiVersion: slo-compiler/v1
service: shop
scrape_interval: 1m
slos:
  - name: checkout
    objective: 99.9
    period: 30d
    sli:
      ratio:
        errors: http_requests_total{service="shop", code="500"}
        total: http_requests_total{service="shop"}
"""
STEP = 60


def families(start: int, days: int, instances: int) -> dict[str, list[tuple[str, int, int]]]:
    """Per instance 100 requests a minute; 20% fail for 2h in the middle."""
    outage = (start + days * 86400 // 2, start + days * 86400 // 2 + 7200)
    samples = []
    for i in range(instances):
        good = bad = 0
        labels = f'service="shop",instance="pod-{i}"'
        for t in range(start, start + days * 86400 + 1, STEP):
            samples.append((f'http_requests_total{{{labels},code="200"}}', good, t))
            samples.append((f'http_requests_total{{{labels},code="500"}}', bad, t))
            failing = outage[0] <= t < outage[1]
            bad, good = bad + (20 if failing else 0), good + (80 if failing else 100)
    return {"http_requests": samples}


def example_families(plans: list, start: int, days: int) -> dict[str, list[tuple[str, int, int]]]:
    """The example SLOs' own series (the generated tests' synthesis of their selectors:
    synth.series_for), 100 events a minute per group, 20% bad for 2h mid-month."""
    from slo_compiler.targets.promtool.synth import group_values, series_for

    outage = (start + days * 86400 // 2, start + days * 86400 // 2 + 7200)
    out: dict[str, list[tuple[str, int, int]]] = {}
    for plan in plans:
        sli = plan.counters
        groups = group_values(sli, plan.group_by, 2) if plan.group_by else [{}]
        for group in groups:
            for series in series_for(sli, group) or []:
                # OpenMetrics wants no space between labels.
                inner = ",".join(f'{k}="{v}"' for k, v in series.labels)
                name = f"{series.metric}{{{inner}}}"
                value, all_, bad = 0, 0, 0
                for t in range(start, start + days * 86400 + 1, STEP):
                    value = series.total * all_ + series.errors * bad
                    out.setdefault(series.metric, []).append((name, value, t))
                    failing = outage[0] <= t < outage[1]
                    all_, bad = all_ + 100, bad + (20 if failing else 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--interval", type=int, default=15, help="rule evaluation, seconds")
    parser.add_argument("--examples", action="store_true", help="the example SLOs (slos/)")
    args = parser.parse_args()
    now = int(time.time())
    start = (now - args.days * 86400) // 3600 * 3600
    last = datetime.fromtimestamp(now, UTC)
    month = f"{last.year}-{last.month - 1:02d}" if last.month > 1 else f"{last.year - 1}-12"
    begin, end = calendar("month", month)
    sources = (
        discover(str(ROOT / "slos"))
        if args.examples
        else [Source("shop.yaml", "shop.yaml", "shop", SLO.encode())]
    )
    plans = [s for p in compile_sources(sources).plans for s in p.slos]
    made_families = (
        example_families(plans, start, args.days)
        if args.examples
        else families(start, args.days, args.instances)
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        made = time.monotonic()
        config = "global: {scrape_interval: 1m, evaluation_interval: 1m}\n"
        with stack.history(work, made_families, config) as url:
            print(f"history: {args.days}d, backfilled in {time.monotonic() - made:.1f}s")
            client = Client(url, timeout=3600)
            t = time.monotonic()
            client.query(f"count(count_over_time({{__name__=~'.+'}}[{int(end - begin)}s]))", end)
            reference = time.monotonic() - t
            t = time.monotonic()
            made_report = report_module.report(
                client, plans, begin, end, args.interval, month, "UTC"
            )
            took = time.monotonic() - t
    states = ", ".join(f"{s.service}/{s.slo} {s.status}" for s in made_report.slos)
    print(
        f"report --month {month} of {len(plans)} SLOs: {took:.2f}s ({states}); reference "
        f"{reference:.3f}s; ratio {took / reference:.0f}x; queries {client.queries}"
    )


if __name__ == "__main__":
    main()
