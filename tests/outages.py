"""The history the backtest and VictoriaMetrics tests share: 3h of `req_total` at 15s
samples, 100 events a sample, no errors except two total outages, A from 60m to 80m and
B from 120m to 123m (the samples after each start carry only bad events), and the SLO
whose tiers are hand-computed against it (see test_backtest.py)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "loadtest"))
import stack

STEP = 15
SAMPLES = 720  # 3h
OUTAGES = ((240, 320), (480, 492))  # samples (after, through] carrying only bad events
OUTAGE_A = 60 * 60  # seconds after the first sample

SLO = """\
apiVersion: slo-compiler/v1
service: shop
scrape_interval: 15s
slos:
  - name: checkout
    objective: 99
    period: 7d
    sli:
      ratio:
        errors: req_total{code="500"}
        total: req_total
    alerting:
      tiers:
        page-fast: {long_window: 10m, short_window: 1m, factor: 10, for: %s}
        page-slow: {long_window: 30m, short_window: 5m, factor: 5, for: 10m}
        ticket-fast: {enabled: false}
        ticket-slow: {enabled: false}
"""


def samples(start: int) -> list[tuple[str, int, int]]:
    """(series, value, unix seconds) of the history starting at `start`."""
    out = []
    good = bad = 0
    for i in range(SAMPLES + 1):
        t = start + i * STEP
        out += [('req_total{code="200"}', good, t), ('req_total{code="500"}', bad, t)]
        failing = any(a < i + 1 <= b for a, b in OUTAGES)
        bad, good = (bad + 100, good) if failing else (bad, good + 100)
    return out


def families(start: int) -> dict[str, list[tuple[str, int, int]]]:
    """The history as stack.backfill takes it."""
    return {"req": samples(start)}


def exposition(start: int) -> str:
    """Prometheus' text format with millisecond timestamps, as VictoriaMetrics imports it."""
    return "".join(f"{s} {v} {t * 1000}\n" for s, v, t in samples(start))


@contextmanager
def serving(work: Path) -> Iterator[tuple[str, int]]:
    """A real Prometheus holding the history, which starts on the hour five hours ago,
    with rules evaluated every minute (Prometheus' default): (URL, first sample time)."""
    start = (int(time.time()) - 5 * 3600) // 3600 * 3600
    with stack.history(work, families(start), "global: {evaluation_interval: 1m}\n") as url:
        yield url, start
