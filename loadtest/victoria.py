"""VictoriaMetrics' single-node server and vmalert (Debian's package `victoria-metrics`) on
127.0.0.1, for the tests that show the generated rules and the gate work on a scale-out
engine: a server on a free port with temporary storage, stopped by its pid; history
imported with timestamps; vmalert replaying the compiled rules over that history and
writing the recorded series and ALERTS back by remote write."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from stack import free_port, serve


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: apt-get install victoria-metrics")
    return found


@contextmanager
def server(work: Path, *flags: str) -> Iterator[str]:
    """VictoriaMetrics single-node (with more `flags`, e.g. a scrape config); yields its URL
    (the Prometheus query API is at it). The rollup cache is off: rules written at past
    timestamps must be read back at once."""
    port = free_port()
    command = [
        tool("victoria-metrics"),
        f"-storageDataPath={work / 'vm-data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-search.disableCache",
        "-loggerLevel=ERROR",
        *flags,
    ]
    with serve(command, port, "/health", work / "victoria-metrics.log") as url:
        yield url


def flush(url: str) -> None:
    """Make what was written searchable now (the server batches it otherwise)."""
    urllib.request.urlopen(f"{url}/internal/force_flush", timeout=30).close()


def import_text(url: str, exposition: str) -> None:
    """Samples in Prometheus' text format, with millisecond timestamps."""
    request = urllib.request.Request(
        f"{url}/api/v1/import/prometheus", data=exposition.encode(), method="POST"
    )
    urllib.request.urlopen(request, timeout=60).close()
    flush(url)


def _rfc3339(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replay(url: str, rules: list[Path], start: int, end: int, interval: str, log: Path) -> None:
    """vmalert's replay mode: every group evaluated over [start, end] at `interval` (one
    range query per rule, rule after rule, so chained rules read what the ones before
    wrote), results and ALERTS written back to the server."""
    subprocess.run(
        [
            tool("vmalert"),
            *(f"-rule={r}" for r in rules),
            f"-datasource.url={url}",
            f"-remoteWrite.url={url}",
            f"-replay.timeFrom={_rfc3339(start)}",
            f"-replay.timeTo={_rfc3339(end)}",
            "-replay.disableProgressBar",
            f"-evaluationInterval={interval}",
            # The range queries' step is the evaluation interval (vmalert's default is 5m).
            f"-datasource.queryStep={interval}",
            # Chained rules read what the rule before wrote: written within 200ms, searchable
            # in VictoriaMetrics about a second after that; at 1s the third link of a
            # chain (total, errors or 0 * total, their ratio) sometimes read nothing.
            "-replay.rulesDelay=2s",
            "-remoteWrite.flushInterval=200ms",
            "-loggerLevel=ERROR",
        ],
        check=True,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        timeout=300,
    )
    flush(url)
