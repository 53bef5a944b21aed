"""A metric the SLI reads that Prometheus has never seen is said, never read as a clean
SLO: against a real Prometheus holding tests/outages.py's history (issue 34, item 3).
Before, an errors metric one letter off read as zero errors: verify over a total outage
passed, backtest found nothing to page about."""

from __future__ import annotations

import json
from pathlib import Path

import outages
import pytest
from conftest import cli

pytestmark = pytest.mark.live

MISSPELT = outages.SLO.replace('errors: req_total{code="500"}', 'errors: req_totl{code="500"}')


@pytest.fixture
def misspelt(tmp_path: Path) -> Path:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos/shop.yaml").write_text(MISSPELT % "2m")
    return tmp_path


def test_verify_over_an_outage_is_inconclusive_naming_the_closest_metric(
    history: tuple[str, int], misspelt: Path
) -> None:
    url, start = history
    outage = ("--from", str(start + 55 * 60), "--to", str(start + 85 * 60))
    result = cli("verify", "--prometheus", url, *outage, "--format", "json", cwd=misspelt)
    assert result.returncode == 3, result.stdout + result.stderr
    [slo] = json.loads(result.stdout)["slos"]
    assert slo["status"] == "inconclusive"
    assert slo["reasons"] == [
        "metric req_totl is unknown to Prometheus; closest known: req_total"
    ], slo


def test_backtest_is_no_data_not_a_quiet_history(history: tuple[str, int], misspelt: Path) -> None:
    url, start = history
    window = ("--from", str(start), "--to", str(start + 3 * 3600))
    result = cli("backtest", "--prometheus", url, *window, "--format", "json", cwd=misspelt)
    assert result.returncode == 3, result.stdout + result.stderr
    [slo] = json.loads(result.stdout)["slos"]
    assert "closest known: req_total" in " ".join(slo["reasons"]), slo


def test_doctor_names_the_unknown_metric_and_its_closest_name(
    history: tuple[str, int], misspelt: Path
) -> None:
    url, _ = history
    result = cli("doctor", "--prometheus", url, "--format", "json", cwd=misspelt)
    assert result.returncode == 1, result.stdout + result.stderr
    [slo] = json.loads(result.stdout)["slos"]
    bad = [f for f in slo["findings"] if not f["ok"]]
    assert any(
        f["check"] == "series of req_totl" and "closest known: req_total" in f["detail"]
        for f in bad
    ), slo
    text = cli("doctor", "--prometheus", url, cwd=misspelt).stdout
    assert text.startswith("shop/checkout: PROBLEMS\n"), text
