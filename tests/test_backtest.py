"""`slo-compiler backtest` against a real Prometheus (Debian's package) holding backfilled
history with two known outages (tests/outages.py), checked against a hand-computed answer.

History: 3h of `req_total` at 15s samples, 100 events a sample, no errors except two total
outages: A from 60m to 80m, B from 120m to 123m (the samples after each start carry only
bad events). Rules are evaluated every minute (no config: Prometheus' default). Samples
sit on the evaluation grid and counters start at 0, so each window's ratio is exact: at
k samples into an outage, the ratio over a window of w samples is min(k, w) / w.

* page-fast (10m/1m, factor 10: 10% errors, for 2m): both windows hold from 2m into an
  outage (the 10m window needs k >= 5: the 2m evaluation), so it fires at 4m; the 1m window
  clears 1m after the outage ends. Outage A: fires at 64m, ends at 81m (17m). Outage B
  holds at 122m and 123m only (1m of pending, under its 2m `for`): no page.
* page-slow (30m/5m, factor 5: 5%, for 10m): holds from 2m into an outage (30m window:
  k >= 7), fires at 12m, clears 5m after the end. A: fires at 72m, ends at 85m (13m).
  B: holds 122m to 127m, 6m of pending under 10m: no page.
* the range starts 30m before the first sample: a 30m gap, reported as such.
* bad events 92 samples x 100 of 720 x 100: burn 12.78x the 1% budget; over 3h of a 7d
  period that is 22.8% of a period's budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import outages
import pytest
from conftest import ROOT, cli, slo_repo

sys.path.insert(0, str(ROOT / "loadtest"))
import stack

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = slo_repo(tmp_path_factory.mktemp("shop"), shop=outages.SLO % "2m")
    (work / "old.yaml").write_text(outages.SLO % "0s")
    return work


def _backtest(shop: Path, url: str, start: int, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(
        "backtest",
        "--prometheus",
        url,
        "--from",
        str(start - 1800),
        "--to",
        str(start + 3 * 3600),
        *args,
        cwd=shop,
    )


def test_pages_firing_time_and_budget_equal_the_hand_computed_answer(
    history: tuple[str, int], shop: Path
) -> None:
    url, start = history
    result = _backtest(shop, url, start, "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    (slo,) = doc["slos"]
    assert slo["gaps"] == [{"target": None, "from": start - 1800, "to": start}]
    (group,) = slo["groups"]
    assert (group["total_events"], group["bad_events"]) == (72000, 9200)
    assert group["burn"] == pytest.approx(9200 / 72000 / 0.01)
    assert group["budget_spent"] == pytest.approx(9200 / 72000 / 0.01 * 3 * 3600 / (7 * 86400))
    tiers = {t["tier"]: t for t in group["tiers"]}
    minute = 60
    fast, slow = tiers["page-fast"], tiers["page-slow"]
    assert [(e["pending"], e["fired"], e["ended"]) for e in fast["episodes"]] == [
        (start + 62 * minute, start + 64 * minute, start + 81 * minute)
    ], "outage B (3m) holds one minute under page-fast's 2m for: no page"
    assert (fast["pages"], fast["firing_seconds"], fast["longest_seconds"]) == (1, 17 * 60, 17 * 60)
    assert [(e["pending"], e["fired"], e["ended"]) for e in slow["episodes"]] == [
        (start + 62 * minute, start + 72 * minute, start + 85 * minute)
    ]
    assert (slow["pages"], slow["firing_seconds"]) == (1, 13 * 60)
    assert doc["pages"] == 2


def test_compare_shows_the_old_version_beside_and_max_pages_gates(
    history: tuple[str, int], shop: Path
) -> None:
    """The old version's page-fast waits for nothing: outage B pages too (2 instead of 1)."""
    url, start = history
    result = _backtest(shop, url, start, "--compare", "old.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    old = json.loads(result.stdout)["compared"][0]["groups"][0]["tiers"][0]
    assert old["tier"] == "page-fast"
    assert [(e["fired"], e["ended"]) for e in old["episodes"]] == [
        (start + 62 * 60, start + 81 * 60),
        (start + 122 * 60, start + 124 * 60),
    ]
    text = _backtest(shop, url, start, "--compare", "old.yaml")
    assert "gap: " in text.stdout and "(30m without data)" in text.stdout
    assert "page-fast  1      17m     17m      2            21m           19m" in text.stdout
    markdown = _backtest(shop, url, start, "--compare", "old.yaml", "--format", "markdown")
    assert "| shop/checkout | all | page-fast | 1 | 17m | 17m | 2 | 21m | 19m |" in markdown.stdout
    over = _backtest(shop, url, start, "--max-pages", "1")
    assert over.returncode == 1
    assert over.stderr == "2 pages, more than --max-pages 1\n"
    assert _backtest(shop, url, start, "--max-pages", "2").returncode == 0


def test_a_range_without_data_is_a_gap_not_quiet(history: tuple[str, int], shop: Path) -> None:
    url, start = history
    before = cli(
        "backtest",
        "--prometheus",
        url,
        "--from",
        str(start - 7200),
        "--to",
        str(start - 3600),
        cwd=shop,
    )
    assert before.returncode == 3, before.stdout + before.stderr
    assert "no series of req_total in the range" in before.stdout


def test_an_unreachable_prometheus_exits_4(shop: Path) -> None:
    url = f"http://127.0.0.1:{stack.free_port()}"
    result = cli("backtest", "--prometheus", url, "--last", "1h", cwd=shop)
    assert result.returncode == 4
    assert result.stderr.startswith("slo-compiler backtest: ")
