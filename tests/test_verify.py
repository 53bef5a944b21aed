"""`slo-compiler verify` against a real Prometheus (Debian's package) holding backfilled
history with a known shape, so the window arithmetic is checked exactly and without timing:
40 minutes of traffic at 15s samples, 10 events a sample; healthy (1 bad in 100) for 20
minutes, then a total outage. The server runs on 127.0.0.1 on a free port with temp
storage and is stopped by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import outages
import pytest
from conftest import ROOT, cli, require_tool, slo_repo

sys.path.insert(0, str(ROOT / "loadtest"))
import stack

from slo_compiler.cli.exits import worst
from slo_compiler.live import verify_formats as report_formats
from slo_compiler.live.replay import Episode, episodes
from slo_compiler.live.timespec import TimeSpecError, parse_time, window
from slo_compiler.live.verify import GroupResult, Report, SloResult

pytestmark = pytest.mark.live

# The shop's SLO of tests/outages.py with the workbook's tiers.
SLO = outages.SLO.split("    alerting:\n")[0]
STEP = 15
SAMPLES = 160  # 40 minutes
OUTAGE_FROM = 80  # sample index: 20 minutes in
PER_SAMPLE = 100  # events per sample


def _counters() -> list[tuple[int, int]]:
    """(total, bad) counters at each sample."""
    total = bad = 0
    out = []
    for i in range(SAMPLES + 1):
        out.append((total, bad))
        total += PER_SAMPLE
        bad += PER_SAMPLE if i >= OUTAGE_FROM else 1
    return out


GROUPED = """\
apiVersion: slo-compiler/v1
service: api
scrape_interval: 15s
slos:
  - name: availability
    objective: 99
    period: 7d
    group_by: [uri]
    sli:
      ratio:
        errors: api_total{code="500"}
        total: api_total
"""


def _families(start: int) -> dict[str, list[tuple[str, int, int]]]:
    """`req_total` as described above; `api_total` for the grouped SLO: uri /a healthy
    throughout, uri /b failing every request."""
    req, api = [], []
    for i, (total, bad) in enumerate(_counters()):
        t = start + i * STEP
        req += [('req_total{code="200"}', total - bad, t), ('req_total{code="500"}', bad, t)]
        api += [
            ('api_total{code="200",uri="/a"}', i * PER_SAMPLE, t),
            ('api_total{code="500",uri="/b"}', i * PER_SAMPLE, t),
        ]
    return {"req": req, "api": api}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Prometheus serving the backfilled history: (URL, first sample time)."""
    require_tool("promtool")
    require_tool("prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    start = (int(time.time()) - 3 * 3600) // 3600 * 3600  # aligned, well inside retention
    with stack.history(work, _families(start), "global: {evaluation_interval: 15s}\n") as url:
        yield url, start


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return slo_repo(tmp_path_factory.mktemp("shop"), shop=SLO, api=GROUPED)


def _verify(shop: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """verify of the shop SLO, unless the arguments name another."""
    named = any(a in ("shop", "api") for a in args)
    return cli("verify", "--prometheus", url, *([] if named else ["shop"]), *args, cwd=shop)


def test_healthy_window_passes_with_exact_event_counts(
    history: tuple[str, int], shop: Path
) -> None:
    url, start = history
    result = _verify(
        shop,
        url,
        "shop",
        "--from",
        str(start + 5 * 60),
        "--to",
        str(start + 20 * 60),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    [group] = doc["slos"][0]["groups"]
    # 15 minutes = 60 samples of 100 events, 1 bad each: increase() between samples that
    # sit exactly on the window's ends is exact.
    assert group["total_events"] == pytest.approx(6000)
    assert group["bad_events"] == pytest.approx(60)
    assert group["sli"] == pytest.approx(0.99)
    assert doc["status"] == "pass"


def test_an_outage_fails_the_page_gate_and_names_the_tier(
    history: tuple[str, int], shop: Path
) -> None:
    url, start = history
    result = _verify(shop, url, "--from", str(start + 20 * 60), "--to", str(start + 40 * 60))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shop/checkout (objective 99%): VIOLATED" in result.stdout
    assert "tier page-fast (page, factor 14.4) would have fired" in result.stdout
    expected = _verify(
        shop,
        url,
        "--from",
        str(start + 20 * 60),
        "--to",
        str(start + 40 * 60),
        "--expect-fire",
        "page-fast",
    )
    assert "page-fast was expected to fire" not in expected.stdout


def test_expect_fire_fails_on_a_healthy_window(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    result = _verify(
        shop,
        url,
        "--from",
        str(start + 5 * 60),
        "--to",
        str(start + 20 * 60),
        "--expect-fire",
        "checkout:page",
    )
    assert result.returncode == 1
    assert "a page tier was expected to fire and did not" in result.stdout


def test_no_data_is_inconclusive_never_a_pass(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    result = _verify(shop, url, "--from", str(start - 3600), "--to", str(start - 1800))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "metric req_total is unknown to Prometheus" in result.stdout


def test_an_unreachable_prometheus_is_exit_4(shop: Path) -> None:
    result = _verify(shop, f"http://127.0.0.1:{stack.free_port()}", "--last", "20m")
    assert result.returncode == 4
    assert result.stderr.startswith("slo-compiler verify: http://127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_the_replay_applies_for_as_prometheus_does() -> None:
    times = [float(t) for t in range(11)]
    holds = {2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0}
    assert episodes(times, holds, 2) == [Episode(2, 4, 5), Episode(6, 8, None)]
    assert episodes(times, holds, 0) == [Episode(2, 2, 5), Episode(6, 6, None)]
    assert episodes(times, {1.0, 2.0}, 5) == [Episode(1, None, 3)]  # reset before `for`


def test_times_and_windows() -> None:
    now = 1_800_000_000.0
    assert parse_time("now-20m", now) == now - 1200
    assert parse_time("1795860000", now) == 1795860000
    assert parse_time("2026-11-27T10:00:00Z", now) == 1795773600
    assert window(None, None, "20m", now) == (now - 1200, now)
    for bad in [("2026-11-27T10:00:00", None, None), (None, None, None), ("now", "now-1m", None)]:
        with pytest.raises(TimeSpecError):
            window(*bad, now)


def test_rules_not_loaded_are_said_once(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    result = _verify(shop, url, "--from", str(start + 20 * 60), "--to", str(start + 40 * 60))
    assert result.stdout.count("the compiled rules are not loaded in this Prometheus") == 1
    assert "the cluster may run other rules" not in result.stdout


def test_report_formats(history: tuple[str, int], shop: Path) -> None:
    """JSON against its schema; JUnit parses with a failure per violated check; Markdown is
    one table row per SLO and group."""
    url, start = history
    span = ("--from", str(start + 20 * 60), "--to", str(start + 40 * 60))
    doc = json.loads(_verify(shop, url, *span, "--format", "json").stdout)
    schema = json.loads((ROOT / "schemas/verify-report.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["slos"][0]["groups"][0]["tiers"][0]["slo_tier"] == "page"
    junit = ET.fromstring(_verify(shop, url, *span, "--format", "junit").stdout)
    assert (junit.tag, junit.get("tests"), junit.get("failures")) == ("testsuite", "1", "1")
    [case] = junit.iter("testcase")
    assert case.get("name") == "shop/checkout [all]"
    assert "page-fast" in case.find("failure").get("message")  # type: ignore[union-attr]
    markdown = _verify(shop, url, *span, "--format", "markdown").stdout.splitlines()
    assert markdown[0] == "### SLO gate: ❌ violated"
    assert markdown[-1].startswith("| shop/checkout | all | 8,000 | 0.0000% | ❌ violated | ")


def test_loadtest_run_combines_the_load_tool_and_the_gate(
    history: tuple[str, int], shop: Path
) -> None:
    """A stand-in for k6 (not installable here) failing its thresholds (exit 99): the run
    fails and says so; a tool that passes leaves the gate's verdict (no traffic reached
    this Prometheus during it: inconclusive, never a pass)."""
    url, _ = history
    k6_failed = [sys.executable, "-c", "import sys; print('k6: thresholds crossed'); sys.exit(99)"]
    result = cli(
        "loadtest", "run", "--prometheus", url, "--settle", "0s", "--", *k6_failed, cwd=shop
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "k6: thresholds crossed" in result.stdout
    assert f"load tool: {sys.executable} exited 99" in result.stderr
    passed = [sys.executable, "-c", "pass"]
    result = cli("loadtest", "run", "--prometheus", url, "--settle", "0s", "--", *passed, cwd=shop)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "INCONCLUSIVE" in result.stdout
    missing = cli("loadtest", "run", "--prometheus", url, "--", "no-such-load-tool", cwd=shop)
    assert missing.returncode == 2 and "cannot run no-such-load-tool" in missing.stderr


def test_exit_codes_the_worst_wins() -> None:
    assert worst(0, 3, 1) == 1 and worst(3, 4, 1) == 4 and worst(3, 0) == 3 and worst(0) == 0


def test_a_grouped_slo_is_judged_per_group(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    span = ("--from", str(start + 5 * 60), "--to", str(start + 20 * 60))
    result = _verify(shop, url, "api", *span, "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    [slo] = json.loads(result.stdout)["slos"]
    groups = {g["group"]["uri"]: g for g in slo["groups"]}
    assert groups["/a"]["status"] == "pass" and groups["/a"]["bad_events"] == 0
    assert groups["/b"]["status"] == "violated" and groups["/b"]["sli"] == 0
    assert groups["/b"]["total_events"] == pytest.approx(6000)


def test_loadtest_run_checks_prometheus_and_the_metrics_before_the_load(
    history: tuple[str, int], shop: Path, tmp_path: Path
) -> None:
    """Prometheus unreachable: exit 4 before the tool runs. An SLO whose metric Prometheus
    has never seen: a note, and the tool runs (an app creates its series on its first
    request); the verdict is inconclusive (3), naming the closest known metric."""
    url, _ = history
    marker = tmp_path / "ran"
    tool = [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]
    down = cli(
        "loadtest",
        "run",
        "--prometheus",
        f"http://127.0.0.1:{stack.free_port()}",
        "--",
        *tool,
        cwd=shop,
    )
    assert down.returncode == 4 and "the load test was not started" in down.stderr, down.stderr
    (shop / "typo").mkdir(exist_ok=True)
    (shop / "typo/t.yaml").write_text(SLO.replace("req_total", "reqs_total"))
    typo = cli("loadtest", "run", "--prometheus", url, "--slos", "typo", "--", *tool, cwd=shop)
    assert typo.returncode == 3, typo.stderr
    unknown = "metric reqs_total is unknown to Prometheus; closest known: req_total"
    assert f"note: shop/checkout: {unknown}" in typo.stderr
    assert unknown in typo.stdout
    assert marker.exists()


TOOL = """
import os, signal, subprocess, sys, time
marker = "tool-child-" + str(os.getppid()) + "-" + str(time.time())
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", marker])
open("child.marker", "w").write(marker)
def summary(signum, frame):
    print("tool summary: 42 requests", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, summary)
open("ready", "w").close()
time.sleep(120)
"""


def test_a_signal_stops_the_tool_group_after_its_summary(
    history: tuple[str, int], shop: Path, tmp_path: Path
) -> None:
    """SIGTERM to `loadtest run` (CI's cancel): the tool gets the signal and prints its
    summary, its child is killed with it, and the run exits 143 at once."""
    url, _ = history
    (tmp_path / "tool.py").write_text(TOOL)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slo_compiler",
            "loadtest",
            "run",
            "--prometheus",
            url,
            "--slos",
            str(shop / "slos"),
            "--",
            sys.executable,
            "tool.py",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    for _ in range(300):  # the tool's readiness marker, not a fixed sleep
        if (tmp_path / "ready").exists():
            break
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    began = time.monotonic()
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 143, stderr
    assert time.monotonic() - began < 5
    assert "tool summary: 42 requests" in stdout
    # Found by its command line: in the tool's own PID namespace its pid is not ours.
    marker = (tmp_path / "child.marker").read_text().encode()
    time.sleep(0.2)
    alive = [
        proc
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit() and _holds(proc, marker) and "Z" not in _state(proc)
    ]
    assert alive == []


def _holds(proc: Path, marker: bytes) -> bool:
    try:
        return marker in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _state(proc: Path) -> str:
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_label_values_cannot_break_the_reports() -> None:
    """A label value with an escape sequence, a newline, a pipe and markup: text and
    Markdown show it escaped, JUnit stays well-formed XML."""
    hostile = "a\x1b]0;owned\x07\nb|c<d>\x00"
    group = GroupResult({"uri": hostile}, 10, 5, status="violated", reasons=[f"why {hostile}"])
    report = Report("http://p", 0, 60, "page", [SloResult("s", "x", 99, [group], "violated")])
    text = report_formats.text(report)
    assert "\x1b" not in text and "\x00" not in text and "\\x1b]0;owned\\x07\\nb|c" in text
    assert all(line.startswith(("verify", "  ", "s/x", "result")) for line in text.splitlines())
    markdown = report_formats.markdown(report).splitlines()
    assert len(markdown) == 7 and markdown[-1].count(" | ") == 5, markdown
    assert "\\|c\\<d\\>" in markdown[-1] and "\x1b" not in markdown[-1]
    junit = ET.fromstring(report_formats.junit(report))
    [case] = junit.iter("testcase")
    assert "\\x1b" in case.get("name", "") and case.find("failure") is not None
