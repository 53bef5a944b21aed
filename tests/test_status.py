"""`slo-compiler status` against a real Prometheus (Debian's package) holding backfilled
history with known answers (tests/outages.py: 3h of `req_total`, 100 events a sample, 9,200
of 72,000 events bad in two outages, ending two hours ago). Over a 7d rolling period the
error ratio is exactly 9,200 / 72,000 (increase() scales every series of a window alike,
so their ratio is exact): at a 99% objective the budget is spent 12.78 times over; at 85%
(a ticket tier only: a page tier's factor times a 15% budget would exceed every event),
1 - 0.12778 / 0.15 = 14.81% of it is left."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import outages
import pytest
from conftest import ROOT, cli, require_tool, slo_repo

sys.path.insert(0, str(ROOT / "loadtest"))
import stack

pytestmark = pytest.mark.live
THREE = ("shop", "lenient", "books")
EXACT = 9200 / 72000
LENIENT = """\
apiVersion: slo-compiler/v1
service: lenient
scrape_interval: 15s
slos:
  - name: checkout
    objective: 85
    period: 7d
    sli:
      ratio:
        errors: req_total{code="500"}
        total: req_total
    alerting:
      tiers:
        page-fast: {enabled: false}
        page-slow: {enabled: false}
        ticket-fast: {enabled: false}
"""


def _gauges(service: str, since: int, until: int, values: dict[str, float]) -> dict:
    """Recorded series of `service`'s SLO every minute over [since, until]."""
    labels = f'slo="checkout",slo_service="{service}"'
    times = range(since, until + 1, 60)
    out = {}
    for name, value in values.items():
        metric, _, extra = name.partition("{")
        body = labels + ("," + extra.rstrip("}") if extra else "")
        out[f"{service}:{metric}"] = [(f"{metric}{{{body}}}", value, t) for t in times]
    return out


def _recorded(start: int, end: int) -> dict[str, list[tuple[str, float, int]]]:
    """What the compiled rules would have recorded.

    * `books` (the shop's SLO on books_total), since its counters' first sample: the 7d
      ratio 0.5% (half the budget left), every tier window at 2% (a 2x burn, under the
      factors), and page-fast's alert firing (as it would, for a while, after a storm);
    * `young` (the lenient SLO on young_total), loaded 4 minutes ago: one sample that
      says the budget is spent five times over, against 14.8% left in the counters;
    * `stopped` (the same), whose rules stopped 7 minutes ago: stale now.
    """
    ratios = {"7d": 0.005, "10m": 0.02, "1m": 0.02, "30m": 0.02, "5m": 0.02}
    books = {f"slo:sli_error:ratio_rate{w}": r for w, r in ratios.items()}
    books["slo:period_error_budget_remaining:ratio"] = 0.5
    books["slo:sli_total:rate5m"] = 10.0
    books['ALERTS{alertname="CheckoutBudgetBurn",alertstate="firing",slo_window="10m"}'] = 1.0
    wrong = {"slo:sli_error:ratio_rate7d": 0.9, "slo:period_error_budget_remaining:ratio": -5}
    return {
        **_gauges("books", start, end, books),
        **_gauges("young", end - 240, end, wrong),
        **_gauges("stopped", start, end - 300, wrong),
    }


def _down(start: int, end: int) -> dict[str, list[tuple[str, float, int]]]:
    """`down_total` of two targets, healthy as `req_total`'s good samples, until both
    targets went down 7 minutes ago (their series stop; `up` reads 0 since)."""
    stop = end - 420
    out: dict[str, list[tuple[str, float, int]]] = {"down": [], "up": []}
    for instance in ("a:80", "b:80"):
        target = f'instance="{instance}",job="tickets"'
        out["down"] += [
            (f'down_total{{code="200",{target}}}', (t - start) // 15 * 100, t)
            for t in range(start, stop + 1, 15)
        ]
        out["up"] += [
            (f"up{{{target}}}", 1 if t <= stop else 0, t) for t in range(start, end + 1, 15)
        ]
    return out


def _renamed(start: int, name: str) -> list[tuple[str, int, int]]:
    return [(s.replace("req_total", f"{name}_total"), v, t) for s, v, t in outages.samples(start)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_tool("promtool")
    require_tool("prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    now = int(time.time())
    start = (now - 5 * 3600) // 3600 * 3600
    families = {
        **outages.families(start),
        **{name: _renamed(start, name) for name in ("books", "young", "stopped")},
        **_recorded(start, now - 120),
        **_down(now - 3600, now - 60),
    }
    with stack.history(work, families, "global: {evaluation_interval: 1m}\n") as url:
        yield url


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    others = {name: _as(LENIENT, name) for name in ("young", "stopped", "down")}
    return slo_repo(
        tmp_path_factory.mktemp("shop"),
        shop=outages.SLO % "2m",
        lenient=LENIENT,
        books=_as(outages.SLO % "2m", "books"),
        **others,
    )


def _as(text: str, service: str) -> str:
    """An SLO file of another service, reading that service's counters."""
    return (
        text.replace("service: shop", f"service: {service}")
        .replace("service: lenient", f"service: {service}")
        .replace("req_total", f"{service}_total")
    )


def _status(shop: Path, url: str, *args: str) -> tuple[int, str, str]:
    result = cli("status", "--prometheus", url, *args, cwd=shop)
    return result.returncode, result.stdout, result.stderr


def test_a_spent_budget_is_exit_1_with_exact_figures(history: str, shop: Path) -> None:
    code, out, err = _status(shop, history, "shop", "--format", "json")
    assert code == 1, out + err
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads((ROOT / "schemas/status-report.schema.json").read_text()))
    [slo] = doc["slos"]
    assert (slo["status"], slo["source"]) == ("exhausted", "raw")
    [group] = slo["groups"]
    assert group["error_ratio"] == pytest.approx(EXACT, abs=0.001)
    assert group["budget_left"] == pytest.approx(1 - EXACT / 0.01, abs=0.001)
    assert group["exhausted_in_seconds"] is None
    # 3h of data in a 7d period; the rest is named as gaps, not taken as quiet.
    assert slo["covered"] == pytest.approx(3 / 168, abs=0.01)
    assert slo["gaps"] and all(g["target"] is None for g in slo["gaps"])
    # No traffic in the last hours: no burn now, never a made-up zero.
    assert all(t["long_burn"] is None and not t["burning"] for t in group["tiers"])


def test_a_budget_left_is_exit_0(history: str, shop: Path) -> None:
    code, out, err = _status(shop, history, "lenient", "--format", "json")
    assert code == 0, out + err
    [group] = json.loads(out)["slos"][0]["groups"]
    assert group["budget_left"] == pytest.approx(1 - EXACT / 0.15, abs=0.001)
    assert json.loads(out)["slos"][0]["status"] == "ok"
    # -v: how many queries the server answered, on stderr beside the report.
    result = cli("status", "--prometheus", history, "lenient", "-v", cwd=shop)
    assert re.search(
        r"^\d+ queries answered by http://127\.0\.0\.1:\d+ in [\d.]+s$", result.stderr, re.M
    )


def test_text_and_markdown(history: str, shop: Path) -> None:
    code, out, _ = _status(shop, history, *THREE)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("status at ") and "shop/checkout (objective 99% over 7d" in out
    assert "[all] SLI 87.2222%, budget left -1177.8% (spent): exhausted" in out
    # Its one tier's long window (16h48m) holds all the history: burn 0.85x, so the 14.8%
    # left lasts 0.148 / 0.852 of 7d.
    assert "budget left 14.8%, spent in 1d5h13m" in out and "current burn (0.85x): ok" in out
    assert any(line.split()[:2] == ["tier", "long"] for line in lines)
    _, md, _ = _status(shop, history, *THREE, "--format", "markdown")
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| SLO | group | SLI |") and len(rows) == 4  # a row an SLO
    assert "❌ budget spent" in md and "✅ ok" in md
    # Issue 37: the Markdown said neither where its numbers came from nor the gaps.
    assert "- objective 99% over 7d, from the raw counters" in md
    assert re.search(r"^- gap: \S+ to \S+ \(", md, flags=re.M), md


def test_no_data_is_3_and_a_stopped_server_4(history: str, shop: Path, tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos/none.yaml").write_text(
        (outages.SLO % "2m").replace("req_total", "none_total")
    )
    code, out, _ = _status(tmp_path, history)
    assert code == 3 and "NO-DATA" in out, out
    code, _, err = _status(shop, f"http://127.0.0.1:{stack.free_port()}")
    assert code == 4 and err.startswith("slo-compiler status: ") and "Traceback" not in err


def test_the_recorded_series_answer_where_the_rules_are_deployed(history: str, shop: Path) -> None:
    """The books service's rules "ran": its recorded ratios, budget and alert are read,
    not its raw counters (which say the budget is spent twelve times over)."""
    code, out, err = _status(shop, history, "books", "--format", "json")
    assert code == 0, out + err  # half the budget left, no tier burning above its factor
    [slo] = json.loads(out)["slos"]
    assert slo["source"] == "recorded", slo
    [group] = slo["groups"]
    assert group["budget_left"] == pytest.approx(0.5)
    assert group["error_ratio"] == pytest.approx(0.005)
    page_fast = next(t for t in group["tiers"] if t["tier"] == "page-fast")
    assert page_fast["long_burn"] == pytest.approx(2) and page_fast["alert"] == "firing"
    # Half the budget left at twice the sustainable burn: a quarter of the period.
    assert group["exhausted_in_seconds"] == pytest.approx(7 * 86400 / 4)


def test_recorded_series_younger_than_the_data_are_not_believed(history: str, shop: Path) -> None:
    """Rules loaded 4 minutes ago hold one sample of the 7d ratio (spent five times over);
    the counters hold 3h (14.8% left): the counters answer, and the report says why."""
    code, out, err = _status(shop, history, "young", "--format", "json")
    assert code == 0, out + err
    [slo] = json.loads(out)["slos"]
    assert (slo["source"], slo["status"]) == ("raw", "ok"), slo
    assert slo["groups"][0]["budget_left"] == pytest.approx(1 - EXACT / 0.15, abs=0.001)
    [why] = slo["reasons"]
    # Minutes recorded against hours of counters (seen 10m a step over a 7d period).
    assert re.fullmatch(
        r"the compiled rules have recorded \d+m\d*s? of the period, the raw counters cover "
        r"(2h[45]\dm\d*s?|3h\S*): read from the raw counters until the rules cover it",
        why,
    ), why


def test_rules_that_stopped_leave_the_counters_to_answer(history: str, shop: Path) -> None:
    """Recorded series 7 minutes old are stale now: the counters answer (was NO-DATA)."""
    code, out, err = _status(shop, history, "stopped", "--format", "json")
    assert code == 0, out + err
    [slo] = json.loads(out)["slos"]
    assert (slo["source"], slo["status"]) == ("raw", "ok"), slo
    assert "have stopped" in slo["reasons"][0]


def test_targets_down_now_are_not_ok(history: str, shop: Path) -> None:
    """Both targets exporting the SLI went down 7 minutes ago: a 7d period's coverage is
    looked at 10 minutes a step, so only `up` now tells; within budget, still exit 3."""
    code, out, err = _status(shop, history, "down", "--format", "json")
    assert code == 3, out + err
    [slo] = json.loads(out)["slos"]
    assert slo["status"] == "targets-down", slo
    assert slo["reasons"][0].startswith(
        "targets down now (2 of 2): a:80 (job tickets), b:80 (job tickets)"
    ), slo
    assert slo["groups"][0]["budget_left"] == pytest.approx(1.0)
    text = _status(shop, history, "down")[1]
    assert "): TARGETS-DOWN\n" in text, text


def test_gap_times_sit_on_a_grid_fixed_to_the_epoch(history: str, shop: Path) -> None:
    """Issue 37: the coverage grid was anchored at the clock, so a gap's times moved by up
    to a grid step (43 minutes for 30d) between two runs. Two readings ten minutes apart
    name the same gaps."""
    from slo_compiler.compiler import compile_sources
    from slo_compiler.live.client import Client
    from slo_compiler.live.status import COVERAGE_STEPS, status_slo
    from slo_compiler.source.files import discover

    [plan] = [
        s
        for p in compile_sources(discover(str(shop / "slos"))).plans
        for s in p.slos
        if s.service == "shop"
    ]
    now = time.time()
    starts = []
    for at in (now, now + 600):
        found = status_slo(Client(history), plan, at, False)
        assert found.gaps, found.reasons
        starts.append([g.start for g in found.gaps])
    # A gap from the period's start (before the history) starts where the period does, on
    # the grid; every other gap is where the data says, the same in both readings.
    step = plan.period / COVERAGE_STEPS
    assert all(abs(s[0] / step - round(s[0] / step)) < 1e-6 for s in starts), (starts, step)
    assert starts[0][1:] == starts[1][1:] and len(starts[0]) > 1, starts
