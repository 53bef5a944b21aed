"""The real promtool on what we emit: the rule files load without a warning, and the
hand-written unit tests in tests/promtool/ show each example SLO's page alert firing on a
full outage and staying quiet on healthy traffic.

These run against the committed `generated/` tree, which test_cli proves is exactly what
the sources produce.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, compile_texts, run

RULE_FILES = sorted((ROOT / "generated/prometheus").glob("*.rules.yaml"))
# With Grafana evaluating the alerts, the alerts Prometheus would run are test-only files.
ALERT_FILES = sorted((ROOT / "generated/prometheus/tests").glob("*.alerts.yaml"))
HAND_WRITTEN = sorted((ROOT / "tests/promtool").glob("*.test.yaml"))


def test_rule_files_and_hand_written_tests_belong_to_example_slo_files() -> None:
    sources = {p.stem for p in (ROOT / "slos").glob("*.yaml")}
    assert {p.name.split(".", 1)[0] for p in RULE_FILES} == sources  # <file>.<slo>.rules.yaml
    # The four SLOs of the first release have hand-written tests besides generated ones.
    hand_written = {p.name.removesuffix(".test.yaml") for p in HAND_WRITTEN}
    assert hand_written == {"gateway-service", "payment-service", "queue-service", "ticket-service"}


@pytest.mark.parametrize("rules", RULE_FILES + ALERT_FILES, ids=lambda p: p.name)
def test_promtool_check_rules_accepts_without_warnings(promtool: str, rules: Path) -> None:
    result = run(promtool, "check", "rules", str(rules))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "WARNING" not in (result.stdout + result.stderr).upper()


@pytest.mark.parametrize("test_file", HAND_WRITTEN, ids=lambda p: p.name)
def test_hand_written_promtool_tests_pass(promtool: str, test_file: Path) -> None:
    result = run(promtool, "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule_file(promtool: str, tmp_path: Path) -> None:
    """The check above can fail: promtool refuses a rule file we broke on purpose."""
    broken = tmp_path / "broken.rules.yaml"
    text = (RULE_FILES[0]).read_text()
    broken.write_text(text.replace("sum_over_time(", "sum_over_tim(", 1))
    result = run(promtool, "check", "rules", str(broken))
    assert result.returncode != 0


def test_edge_case_labels_and_selectors_pass_promtool(promtool: str, tmp_path: Path) -> None:
    """Quotes, backslashes and unicode in label values, a good-events SLI and a raw SLI:
    output promtool must load as it is."""
    result = compile_texts(
        r"""
        apiVersion: slo-compiler/v1
        service: catalog-service
        labels:
          team: 'say "hi" \ to ünïcode'
        slos:
          - name: search-availability
            objective: 99.95
            period: 28d
            sli:
              ratio:
                good: http_requests_total{service="catalog-service", uri="/s\"x\\y", code="200"}
                total: http_requests_total{service="catalog-service", uri="/s\"x\\y"}
            group_by: [uri, method]
          - name: search-raw
            objective: 99
            sli:
              raw:
                error_ratio: sum(rate(errs_total[{{window}}])) / sum(rate(reqs_total[{{window}}]))
        """
    )
    for rel, data in result.files.items():
        if rel.endswith(".rules.yaml"):
            path = tmp_path / Path(rel).name
            path.write_bytes(data)
            checked = run(promtool, "check", "rules", str(path))
            assert checked.returncode == 0, checked.stdout + checked.stderr
