"""`slo-compiler report` against a real Prometheus (Debian's package) holding backfilled
history with known answers (tests/outages.py: 3h of `req_total`, 100 events a sample; 9,200
of 72,000 bad in two outages, page-fast paging once at 64m to 81m, page-slow at 72m to
85m). Samples sit on the 5m steps' edges, where each step's increase() is exact: the
attainment over the three hours is 1 - 9,200 / 72,000 = 87.2222%, missed at 99%; the first
55 minutes are clean, met. The HTML page is opened in a real headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import jsonschema
import pytest
from conftest import ROOT, cli, require_tool

from slo_compiler.live.timespec import TimeSpecError, calendar, iso

sys.path.insert(0, str(ROOT / "loadtest"))

pytestmark = pytest.mark.live
MINUTE = 60


@pytest.fixture(scope="module")
def shop(outage_shop: Path) -> Path:
    return outage_shop


def _report(
    shop: Path, url: str, start: int, minutes: int, *args: str
) -> subprocess.CompletedProcess[str]:
    span = ("--from", str(start), "--to", str(start + minutes * MINUTE))
    return cli("report", "--prometheus", url, *span, *args, cwd=shop)


def test_attainment_episodes_and_incidents_are_exact(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    result = _report(shop, url, start, 180, "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, json.loads((ROOT / "schemas/report.schema.json").read_text()))
    [slo] = doc["slos"]
    assert slo["status"] == "missed" and slo["covered"] == pytest.approx(1, abs=0.01)
    [group] = slo["groups"]
    assert group["attainment"] == pytest.approx(1 - 9200 / 72000, abs=0.001)
    assert group["total_events"] == pytest.approx(72000) and group["bad_events"] == pytest.approx(
        9200
    )
    assert group["budget_consumed"] == pytest.approx(9200 / 720, rel=1e-6)
    fired = {(e["tier"], e["fired"] - start, e["ended"] - start) for e in group["episodes"]}
    assert fired == {
        ("page-fast", 64 * MINUTE, 81 * MINUTE),
        ("page-slow", 72 * MINUTE, 85 * MINUTE),
    }
    # Issue 37: incidents, not worst hours: each outage once, its bad events and its share
    # of the period's budget (the objective's 1% of 72,000 events), the alerts it raised.
    incidents = [
        (i["from"] - start, i["to"] - start, i["bad_events"], i["alerts"])
        for i in group["incidents"]
    ]
    assert incidents == [
        (60 * MINUTE, 80 * MINUTE, 8000, ["page-fast", "page-slow"]),
        (120 * MINUTE, 125 * MINUTE, 1200, []),
    ]
    assert group["incidents"][0]["budget_share"] == pytest.approx(8000 / 720)
    # Of the SLO's own 7d window, three hours of this traffic are a sliver of the budget.
    assert group["budget_consumed_of_slo_window"] == pytest.approx(9200 / 720 * 3 / (7 * 24))
    assert group["previous_period"] is None  # no data before the history
    assert (
        slo["sli"] == 'bad req_total{code="500"} of req_total' and slo["period_seconds"] == 604800
    )
    assert len(group["steps"]) == 36 and doc["step_seconds"] == 300


def test_a_clean_stretch_is_met(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    result = _report(shop, url, start, 55)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shop/checkout: MET" in result.stdout
    assert "objective 99% over 7d" in result.stdout
    assert "attainment 100.0000% of 22,000 events (0 bad): met" in result.stdout


def test_markdown_writes_its_charts_beside_it_and_only_over_its_own(
    history: tuple[str, int], shop: Path, tmp_path: Path
) -> None:
    url, start = history
    out = tmp_path / "nov"
    result = _report(shop, url, start, 180, "--format", "markdown", "--out", str(out))
    assert result.returncode == 1, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["report.md", "shop-checkout-0-burn-down.svg", "shop-checkout-0-sli.svg"]
    markdown = (out / "report.md").read_text()
    assert "![error budget left](shop-checkout-0-burn-down.svg)" in markdown
    lines = markdown.splitlines()
    assert lines[3].startswith("| team | SLO | group | objective | attainment | vs previous |")
    assert (
        "| - | shop/checkout | all | 99% | 87.2222% | n/a | 1277.8% | 22.8% | MISSED | 2 | 0 |"
        in (lines)
    )
    for chart in ("shop-checkout-0-burn-down.svg", "shop-checkout-0-sli.svg"):
        svg = (out / chart).read_text()
        assert svg.startswith("<svg") and len(re.findall(r"<path ", svg)) > 20
    again = _report(shop, url, start, 180, "--format", "markdown", "--out", str(out))
    assert again.returncode == 1 and (out / "report.md").read_text() == markdown
    (out / "notes.txt").write_text("the team's")
    refused = _report(shop, url, start, 180, "--format", "markdown", "--out", str(out))
    assert refused.returncode == 2 and "notes.txt" in refused.stderr
    assert (out / "notes.txt").read_text() == "the team's"


def test_calendar_periods() -> None:
    assert [iso(t) for t in calendar("month", "2026-11")] == [
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
    ]
    assert [iso(t) for t in calendar("quarter", "2026-Q4")] == [
        "2026-10-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    ]
    assert [iso(t) for t in calendar("week", "2026-W48")] == [
        "2026-11-23T00:00:00Z",
        "2026-11-30T00:00:00Z",
    ]
    # A month in Berlin starts at its midnight, and March is 23 hours short of 31 days.
    begin, end = calendar("month", "2026-03", "Europe/Berlin")
    assert iso(begin) == "2026-02-28T23:00:00Z" and end - begin == 31 * 86400 - 3600
    for kind, text, zone in (
        ("month", "2026-13", "UTC"),
        ("week", "2026-48", "UTC"),
        ("month", "2026-11", "Mars/Base"),
    ):
        with pytest.raises(TimeSpecError):
            calendar(kind, text, zone)


class _Page(BaseHTTPRequestHandler):
    """Serves the report; every other request (a font, an image, a script) is recorded."""

    page = b""
    asked: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = self.page if self.path == "/report.html" else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_html_page_in_a_real_browser_needs_nothing_else(
    history: tuple[str, int], shop: Path, tmp_path: Path
) -> None:
    """Chromium opens the page with every host name resolved to this test's server: any
    request beyond the page (and the favicon a browser asks for) would reach it. The
    screenshot has the two charts: coloured pixels in more than a small share of it."""
    chromium = require_tool("chromium")
    url, start = history
    result = _report(shop, url, start, 180, "--format", "html")
    page = result.stdout
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2
    assert not re.search(r"""(src|href)=["'](?!#)""", page), "a link to fetch"
    _Page.page, _Page.asked = page.encode(), []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    shot = tmp_path / "page.png"

    def browse(*flags: str) -> str:
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                # the browser's own calls home (updates, time): only the page's are counted
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-features=NetworkTimeServiceQuerying",
                f"--host-resolver-rules=MAP * 127.0.0.1:{port}",
                "--window-size=1000,1800",
                *flags,
                f"http://report.test:{port}/report.html",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        return done.stdout

    try:
        browse(f"--screenshot={shot}")
        dom = browse("--dump-dom")
    finally:
        server.shutdown()
        server.server_close()
    assert {p for p in _Page.asked if p != "/favicon.ico"} == {"/report.html"}, _Page.asked
    # The page as the browser built it (issue 37): the summary table first, its row, the
    # two charts with their legend and labelled objective.
    assert dom.index('<table id="summary">') < dom.index("<svg")
    assert "<td>shop/checkout</td>" in dom and ">MISSED</td>" in dom
    assert dom.count("<svg") == 2
    assert "<!-- page firing -->" in dom and "<!-- objective 99% -->" in dom
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    coloured = (abs(pixels[..., 0] - pixels[..., 1]) + abs(pixels[..., 1] - pixels[..., 2])) > 0.2
    assert coloured.mean() > 0.002, coloured.mean()


def test_a_report_shows_at_most_fifty_groups_the_worst_first() -> None:
    """Issue 35 item 2: a report's cost grew with its groups without a cap (100 groups:
    71 s, an 8 MB page). Past 50, the lowest attainment are kept in their order, and the
    others are summed up; the verdict is taken before, over all."""
    from slo_compiler.live.report import MAX_GROUPS, GroupReport, Step, shown

    groups = [
        GroupReport({"route": f"/r{i:03d}"}, [Step(3600.0, 1000.0, float(i % 97))])
        for i in range(120)
    ]
    budget = lambda _t: 0.01  # noqa: E731 - a 99% objective throughout
    kept, said = shown(groups, budget)
    assert len(kept) == MAX_GROUPS
    assert [g.group["route"] for g in kept] == sorted(g.group["route"] for g in kept)
    worst_left = min(g.attainment or 1 for g in groups if g not in kept)
    assert all((g.attainment or 1) <= worst_left for g in kept)
    missed = sum(1 for g in groups if g not in kept and not g.met(budget))
    assert said == (
        f"120 groups: the 50 with the lowest attainment are shown; of the other 70, "
        f"{missed} of them missed it too"
    )
    assert shown(groups[:MAX_GROUPS], budget) == (groups[:MAX_GROUPS], None)


def test_a_period_in_progress_and_one_with_too_little_data_get_their_own_verdicts(
    history: tuple[str, int], shop: Path
) -> None:
    """Issue 37: the current month said MET with data for 19% of it, counted the future as
    a gap and drew the burn-down flat to its end; a month without data said NO-DATA above
    "data for 100.0% of the period". The history holds 3h from `start`, about 5h ago."""
    url, start = history
    running = json.loads(_report(shop, url, start, 24 * 60, "--format", "json").stdout)
    [slo] = running["slos"]
    assert slo["status"] == "in-progress"
    now = running["read_to"]
    assert now < running["end"] and now - start == len(slo["groups"][0]["steps"]) * 300
    assert all(g["to"] <= now for g in slo["gaps"]), "the future is no gap"
    assert slo["covered"] == pytest.approx(3 * 3600 / (now - start), abs=0.02)
    text = _report(shop, url, start, 24 * 60).stdout
    assert "in progress, read to" in text and "data for" in text and "of the period so far" in text
    assert _report(shop, url, start, 24 * 60).returncode == 0
    thin = _report(shop, url, start - 4 * 3600, 5 * 60, "--format", "json")
    assert thin.returncode == 3, thin.stderr
    assert json.loads(thin.stdout)["slos"][0]["status"] == "not-enough-data"
    empty = _report(shop, url, start - 10 * 3600, 5 * 60)
    assert empty.returncode == 3
    assert "data for 0.0% of the period" in empty.stdout and "100.0%" not in empty.stdout


def test_the_html_page_has_its_summary_legend_labels_and_unique_ids(
    history: tuple[str, int], shop: Path
) -> None:
    """Issue 37: the page had no summary table, no legend for the shading, no labelled
    objective, axes in UTC without saying so, and ids repeated across its inline charts.
    matplotlib writes each text it draws as a comment beside its paths."""
    url, start = history
    page = _report(shop, url, start, 180, "--format", "html", "--timezone", "Europe/Berlin").stdout
    assert '<table id="summary">' in page and page.index('id="summary"') < page.index("<svg")
    for drawn in ("page firing", "ticket firing", "objective 99%", "time (Europe/Berlin)",
                  "events", "budget spent"):  # fmt: skip
        assert f"<!-- {drawn} -->" in page, drawn
    # Times read in the report's zone, not as raw UTC stamps (`...T00:04:51Z`).
    assert " CET" in page and not re.search(r"\d{2}:\d{2}:\d{2}Z", page)
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]
    assert "SLI: bad req_total{code=&quot;500&quot;} of req_total" in page
    assert "alerts fired: page-fast, page-slow" in page


def test_a_changed_objective_does_not_rewrite_the_past(
    history: tuple[str, int], tmp_path: Path
) -> None:
    """Issue 37: raising an objective turned last month MISSED and `status` EXHAUSTED;
    the format could not say when an objective took effect. With `objective_history`
    the first 100 minutes (outage A: 8,000 bad of 40,000) are judged at the 75% that held
    then, the rest (1,200 bad of 32,000) at today's 99%: 10,320 bad events allowed, 9,200
    spent. Without it, 720 allowed: missed, exhausted."""
    import outages
    from conftest import slo_repo

    url, start = history
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 100 * MINUTE))
    text = (outages.SLO % "2m").replace(
        "    objective: 99\n",
        f"    objective: 99\n    objective_history:\n      - {{objective: 75, until: '{until}'}}\n",
    )
    repo = slo_repo(tmp_path, shop=text)
    span = ("--from", str(start), "--to", str(start + 180 * MINUTE))
    done = cli("report", "--prometheus", url, *span, "--format", "json", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    [slo] = json.loads(done.stdout)["slos"]
    assert slo["status"] == "met" and slo["objectives_in_force"] == [75, 99]
    assert slo["groups"][0]["budget_consumed"] == pytest.approx(9200 / 10320, rel=1e-6)
    now = cli("status", "--prometheus", url, "--format", "json", cwd=repo)
    assert now.returncode == 0, now.stdout + now.stderr
    [state] = json.loads(now.stdout)["slos"]
    # increase() at the stretches' edges extrapolates: an estimate, as status says.
    assert state["groups"][0]["budget_left"] == pytest.approx(1 - 9200 / 10320, rel=2e-2)
    plain = slo_repo(tmp_path / "plain", shop=outages.SLO % "2m")
    assert cli("status", "--prometheus", url, cwd=plain).returncode == 1


def test_over_two_days_each_tier_is_replayed_at_half_its_for(
    history: tuple[str, int], shop: Path
) -> None:
    """Issue 37: a month report took minutes, each tier's condition evaluated at every
    rule interval with its long window read each time. Over a range of two days or more
    a tier is replayed every half its `for` (page-slow's 10m: every 5m), which the report
    says; the episodes stay where they were, to within that step."""
    url, start = history
    span = ("--from", str(start - 45 * 3600), "--to", str(start + 3 * 3600))
    done = cli("report", "--prometheus", url, *span, "--format", "json", cwd=shop)
    [slo] = json.loads(done.stdout)["slos"]
    assert any("page-slow every 5m" in r for r in slo["reasons"]), slo["reasons"]
    fired = {e["tier"]: e["fired"] - start for e in slo["groups"][0]["episodes"]}
    assert abs(fired["page-fast"] - 64 * MINUTE) <= MINUTE, fired
    assert abs(fired["page-slow"] - 72 * MINUTE) <= 5 * MINUTE, fired


def _recorded_series(start: int) -> dict[str, list[tuple[str, float, int]]]:
    """What the compiled rules would have recorded over the 3h of tests/outages.py's
    history, made to differ from the raw counters so that a figure shows its source:
    the fine slices (30s, for a 15s scrape) count 200 events each, all bad only from
    90m to 100m; every tier window's ratio is 1 then, 0 otherwise."""
    labels = 'slo="checkout",slo_service="shop"'
    out: dict[str, list[tuple[str, float, int]]] = {}
    for t in range(start + 30, start + 3 * 3600 + 1, 30):
        bad = 90 * MINUTE < t - start <= 100 * MINUTE
        for metric, value in (
            ("slo:sli_total:rate30s", 200 / 30),
            ("slo:sli_errors:rate30s", 200 / 30 if bad else 0.0),
            *((f"slo:sli_error:ratio_rate{w}", 1.0 if bad else 0.0)
              for w in ("10m", "1m", "30m", "5m")),
        ):  # fmt: skip
            out.setdefault(metric, []).append((f"{metric}{{{labels}}}", value, t))
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A Prometheus holding the outages' raw counters and the compiled rules' series."""
    import outages
    import stack

    work = tmp_path_factory.mktemp("recorded")
    start = (int(time.time()) - 5 * 3600) // 3600 * 3600
    # And a process that restarted twice (at 90m and 180m): its counter starts again.
    restarted = [
        ('req_total{code="200",instance="pod-b:80",job="shop"}', (i % 360) * 10, start + i * 15)
        for i in range(721)
    ]
    families = {**outages.families(start), **_recorded_series(start)}
    families["req"] = families["req"] + restarted
    with stack.history(work, families, "global: {evaluation_interval: 1m}\n") as url:
        yield url, start


def test_recorded_slices_answer_where_they_cover_the_range(
    recorded: tuple[str, int], shop: Path
) -> None:
    """Issue 37: a report read the raw counters at fine steps over the whole range. Where
    the compiled rules' slices cover the range they answer (and the deployed alerts'
    conditions are replayed over their recorded windows), and the report says so; where
    they cover part of it, the raw counters answer, with why."""
    url, start = recorded
    done = _report(shop, url, start, 180, "--format", "json")
    [slo] = json.loads(done.stdout)["slos"]
    assert slo["source"] == "recorded", slo["reasons"]
    assert slo["reasons"][0] == "read from the compiled rules' recorded slices and alert conditions"
    [group] = slo["groups"]
    assert group["total_events"] == pytest.approx(72000)
    assert group["bad_events"] == pytest.approx(4000)
    fired = {(e["tier"], e["fired"] - start) for e in group["episodes"]}
    # The recorded windows say 1 from 90m30s: the condition holds at the 91m evaluation,
    # and page-fast fires its 2m `for` later (the raw counters' outage fires it at 64m).
    assert fired == {("page-fast", 93 * MINUTE)}
    wider = _report(shop, url, start - 3600, 240, "--format", "json")
    [slo] = json.loads(wider.stdout)["slos"]
    assert slo["source"] == "raw"
    assert slo["reasons"][0] == (
        "read from the raw counters: the compiled rules have recorded 3h of the range"
    )
    assert slo["groups"][0]["bad_events"] == pytest.approx(9200)
    assert any(r.startswith("counter reset 2x on target pod-b:80 (job shop)") for r in
               slo["reasons"]), slo["reasons"]  # fmt: skip
