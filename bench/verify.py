"""How long `slo-compiler verify` takes for many SLOs against a real Prometheus.

    python bench/verify.py [--slos 100]      # needs prometheus and promtool (Debian)

All on 127.0.0.1 in a temporary folder: 40 minutes of a request counter (10 instances,
two status codes, 15s samples) backfilled with `promtool tsdb create-blocks-from
openmetrics`, a Prometheus started on it, and N SLOs on that counter (four tiers each)
verified over a 20-minute window, in process. Prints the wall time, the queries sent and
the time per SLO, beside a reference measured in the same run: the same number of plain
`count()` instant queries, i.e. what the HTTP round trips alone cost.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtest"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import stack

from slo_compiler.compiler import compile_sources
from slo_compiler.live.client import Client
from slo_compiler.live.verify import Options, verify
from slo_compiler.source.config import DEFAULT
from slo_compiler.source.files import Source

STEP, SAMPLES, INSTANCES = 15, 160, 10


def _history(start: int) -> dict[str, list[tuple[str, int, int]]]:
    samples = []
    for i in range(SAMPLES + 1):
        for n in range(INSTANCES):
            t = start + i * STEP
            samples.append((f'req_total{{instance="i{n}",code="200"}}', i * 99, t))
            samples.append((f'req_total{{instance="i{n}",code="500"}}', i, t))
    return {"req": samples}


def _slos(count: int) -> Source:
    slos = "".join(
        f"  - name: s{i}\n    objective: 99\n    period: 7d\n    sli:\n      ratio:\n"
        f'        errors: req_total{{code="500"}}\n        total: req_total\n'
        for i in range(count)
    )
    text = f"apiVersion: slo-compiler/v1\nservice: bench\nslos:\n{slos}"
    return Source("slos/bench.yaml", "slos/bench.yaml", "bench", text.encode())


class Counting(Client):
    """The real client, counting what it sends."""

    sent = 0

    def _get(self, path: str, params: dict) -> object:  # type: ignore[override]
        Counting.sent += 1
        return super()._get(path, params)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slos", type=int, default=100)
    args = parser.parse_args()
    plans = [
        s for p in compile_sources([_slos(args.slos)], None, ("prometheus",)).plans for s in p.slos
    ]
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        work = Path(tmp)
        start = (int(time.time()) - 3 * 3600) // 3600 * 3600
        stack.backfill(work, _history(start))
        with stack.prometheus(work, "global: {evaluation_interval: 15s}\n") as url:
            client = Counting(url)
            opts = Options(
                start + 20 * 60, start + 40 * 60, 15, alerts_in_prometheus=DEFAULT.prometheus_alerts
            )
            began = time.perf_counter()
            report = verify(client, plans, opts)
            took = time.perf_counter() - began
            queries = Counting.sent
            reference = Client(url)
            began = time.perf_counter()
            for _ in range(queries):
                reference.query("count(req_total)", opts.end)
            round_trips = time.perf_counter() - began
    print("| SLOs | verify | per SLO | queries | same number of trivial queries | ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.slos} | {took:.2f} s | {took / args.slos * 1000:.1f} ms | {queries} "
        f"| {round_trips:.2f} s | {took / round_trips:.1f}x |"
    )
    print(f"\nstatus {report.status}; {sum(len(s.groups) for s in report.slos)} groups judged")


if __name__ == "__main__":
    main()
