"""The generated rules and the gate on VictoriaMetrics (Debian's `victoria-metrics`: the
single-node server and vmalert), beside a real Prometheus holding the same history
(tests/outages.py: two total outages in 3h of 15s samples).

* every generated rule file passes `vmalert -dryRun` (MetricsQL and vmalert's templates);
* vmalert replays the compiled rules over the history and writes the recorded series back:
  they equal Prometheus' evaluation of the same expressions on the same data;
* the total outage pages in vmalert when `explain` says it would (plus one evaluation);
* `backtest` and `verify` give against VictoriaMetrics what they give against Prometheus.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import outages
import pytest
import yaml
from conftest import ROOT, cli, require_tool, run

sys.path.insert(0, str(ROOT / "loadtest"))
import stack
import victoria

from slo_compiler.live.client import Client

# vmalert's replay sleeps between rules: it waits beside the loads, not behind them.
pytestmark = [pytest.mark.live, pytest.mark.waits("victoria")]
HOUR = 3600


def test_every_generated_rule_file_passes_vmalert_dry_run(tmp_path: Path) -> None:
    vmalert = require_tool("vmalert")
    generated = ROOT / "generated/prometheus"
    # The examples as committed (recording rules; Grafana evaluates the alerts), their
    # alerts as Prometheus would run them, and the examples compiled without a config
    # (alerts in the rule files, as most users run them).
    alone = cli("compile", "--slos", str(ROOT / "slos"), "--out", "out", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    files = [
        *sorted(generated.glob("*.rules.yaml")),
        *sorted((generated / "tests").glob("*.alerts.yaml")),
        *sorted((tmp_path / "out/prometheus").glob("*.rules.yaml")),
    ]
    for path in files:
        checked = run(vmalert, "-dryRun", f"-rule={path}", "-loggerLevel=ERROR")
        assert checked.returncode == 0, (path, checked.stdout[-2000:], checked.stderr[-2000:])
    # The dry run does check: a rule MetricsQL cannot parse fails it.
    broken = tmp_path / "broken.yaml"
    broken.write_text("groups:\n- name: g\n  rules:\n  - record: r\n    expr: sum(rate(x[5m])\n")
    assert run(vmalert, "-dryRun", f"-rule={broken}", "-loggerLevel=ERROR").returncode != 0


@dataclass(frozen=True)
class Both:
    victoria: str
    prometheus: str
    start: int
    rules: Path
    shop: Path


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    """The history in both servers, and vmalert's replay of the compiled rules in VM."""
    for name in ("victoria-metrics", "vmalert", "prometheus", "promtool"):
        require_tool(name)
    work = tmp_path_factory.mktemp("victoria")
    start = (int(time.time()) - 5 * HOUR) // HOUR * HOUR
    shop = work / "shop"
    (shop / "slos").mkdir(parents=True)
    (shop / "slos/shop.yaml").write_text(outages.SLO % "2m")
    compiled = cli("compile", "--out", "gen", cwd=shop)
    assert compiled.returncode == 0, compiled.stderr
    [rules] = (shop / "gen/prometheus").glob("shop.*.rules.yaml")
    stack.backfill(work, outages.families(start))
    with (
        victoria.server(work) as vm,
        stack.prometheus(work, "global: {evaluation_interval: 1m}\n") as prometheus,
    ):
        victoria.import_text(vm, outages.exposition(start))
        victoria.replay(vm, [rules], start, start + 3 * HOUR, "1m", work / "vmalert.log")
        yield Both(vm, prometheus, start, rules, shop)


def _series(client: Client, expr: str, start: int, end: int) -> dict[float, float]:
    (only,) = client.query_range(expr, start, end, 60) or [({}, [])]
    return dict(only[1])


def test_recorded_series_equal_prometheus_on_the_same_data(both: Both) -> None:
    """Each recording rule over the raw counters, as vmalert recorded it in VictoriaMetrics,
    against Prometheus evaluating its expression at the same instants. Samples sit on the
    evaluation grid, where MetricsQL's rate (no extrapolation, the sample before the window)
    and PromQL's agree: the stated tolerance is a relative 1e-9, float noise."""
    vm, prometheus = Client(both.victoria), Client(both.prometheus)
    groups = yaml.safe_load(both.rules.read_text())["groups"]
    rules = [r for g in groups for r in g["rules"]]
    raw = [r for r in rules if "record" in r and "req_total" in r["expr"]]
    measured = "slo:sli_scrape_interval:seconds"
    fine_slices = {"slo:sli_total:rate30s", "slo:sli_errors:rate30s"}
    assert {r["record"] for r in raw} == fine_slices | {measured}
    begin, end = both.start + 35 * 60, both.start + 3 * HOUR  # every window full
    # And chained on the recorded slices (vmalert's replay runs group after group, rule
    # after rule, so it reads what the rules before it wrote): the 5m and 30m ratios, here
    # the same sums of slices written out over the counters.
    [total] = [r["expr"] for r in raw if r["record"] == "slo:sli_total:rate30s"]
    delay, reads = (int(o) for o in re.findall(r"offset (\d+)s", total)[:2])
    assert (delay, reads) == (15, 45)
    # vmalert's replay steps every group at -evaluationInterval (1m here), not at the
    # slices' own 30s: the slices are as far apart as it recorded them.
    ((_, count),) = vm.query('count_over_time(slo:sli_total:rate30s{slo="checkout"}[1h])', end)
    every = 3600 // int(count)
    assert every in (30, 60), count

    def sliced(selector: str, minutes: int) -> str:
        """The fine slices recorded in the last `minutes`, each the slice's expression
        at the instant it was recorded (its offsets moved back by as much)."""
        one = total.replace("req_total", selector)
        return " + ".join(
            one.replace(f"offset {delay}s", f"offset {delay + every * k}s").replace(
                f"offset {reads}s", f"offset {reads + every * k}s"
            )
            for k in range(60 * minutes // every)
        )

    chained = [
        {
            "record": f"slo:sli_error:ratio_rate{m}m",
            "expr": f'({sliced("""req_total{code="500"}""", m)}) / ({sliced("req_total", m)})',
        }
        for m in (5, 30)
    ]
    for rule in [*raw, *chained]:
        recorded = _series(vm, f'{rule["record"]}{{slo="checkout"}}', begin, end)
        expected = _series(prometheus, rule["expr"], begin, end)
        assert len(recorded) == len(expected) == 146, rule["record"]
        # The scrape interval is the range over the samples it holds, and Prometheus 2.x
        # holds one more where a sample sits on the range's start (MetricsQL and
        # Prometheus 3 leave the start out): one sample in the 16 of 4m at 15s.
        tolerance = 1 / 16 if rule["record"] == measured else 1e-9
        for t, value in expected.items():
            assert math.isclose(recorded[t], value, rel_tol=tolerance, abs_tol=1e-12), (
                rule["record"],
                t - both.start,
            )


def test_a_total_outage_pages_in_vmalert_when_explain_predicts(both: Both) -> None:
    vm = Client(both.victoria)
    firing = vm.query_range(
        'ALERTS{alertstate="firing",slo_window="10m"}', both.start, both.start + 3 * HOUR, 60
    )
    fired = min(t for _, values in firing for t, _ in values) - (both.start + outages.OUTAGE_A)
    explained = cli("explain", "--format", "json", cwd=both.shop)
    tier = json.loads(explained.stdout)["slos"][0]["tiers"][0]
    predicted = tier["burns"][0]["fires_seconds"]
    assert (tier["tier"], tier["burns"][0]["burn"]) == ("page-fast", "total outage")
    # The first evaluation at or after the prediction: vmalert evaluates every minute.
    assert predicted <= fired <= predicted + 60, (predicted, fired)


def test_backtest_and_verify_answer_the_same_against_victoriametrics(both: Both) -> None:
    window = ("--from", str(both.start - 1800), "--to", str(both.start + 3 * HOUR))
    answers = {}
    for name, url in (("victoria", both.victoria), ("prometheus", both.prometheus)):
        result = cli("backtest", "--prometheus", url, *window, "--format", "json", cwd=both.shop)
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)["slos"][0]
        answers[name] = (doc["gaps"], doc["groups"][0]["tiers"], doc["groups"][0]["bad_events"])
    assert answers["victoria"] == answers["prometheus"]
    fast = answers["victoria"][1][0]
    minute = 60
    assert [(e["fired"], e["ended"]) for e in fast["episodes"]] == [
        (both.start + 64 * minute, both.start + 81 * minute)
    ]
    outage = ("--from", str(both.start + 55 * minute), "--to", str(both.start + 85 * minute))
    verdict = cli(
        "verify", "--prometheus", both.victoria, *outage, "--format", "json", cwd=both.shop
    )
    assert verdict.returncode == 1, verdict.stdout + verdict.stderr
    assert json.loads(verdict.stdout)["status"] == "violated"


def test_where_metricsql_differs_from_promql_and_what_we_emit_does_about_it(both: Both) -> None:
    """The corner cases that matter to our rules, on the same data in both engines.

    * A range's ends: Prometheus 2.x includes both (a 1m range over 15s samples holds 5),
      MetricsQL excludes the start (4). Our windows summed from recorded slices weigh one
      slice more in Prometheus 2.x, which `explain` models; in VictoriaMetrics (and
      Prometheus 3) they weigh exactly the window: detection there is a fraction of an
      evaluation earlier, never later.
    * rate() over a range that starts before the first sample: PromQL divides the
      increase by the range, MetricsQL by the time that had samples. Our rules' ratios
      divide two rates over the same range, so the ratio is the same; the live checks
      count events, and use increase() (equal in both) instead of rate x range.
    * absent() and `or`: the same answers, labels included (the SLI-missing alert's).
    """
    vm, prometheus = Client(both.victoria), Client(both.prometheus)
    aligned = both.start + HOUR

    def value(client: Client, expr: str, at: float = aligned) -> list[tuple[dict, float]]:
        return sorted((labels, v) for labels, v in client.query(expr, at))

    ends = 'count_over_time(req_total{code="200"}[1m])'
    assert value(prometheus, ends) == [({"code": "200"}, 5.0)]
    assert value(vm, ends) == [({"code": "200"}, 4.0)]
    early = both.start + 30 * 60  # a 1h range, half of it before the data
    rate_times_range = "sum(rate(req_total[1h])) * 3600"
    increase = "sum(increase(req_total[1h]))"
    assert value(prometheus, rate_times_range, early) == value(prometheus, increase, early)
    assert value(vm, increase, early) == value(prometheus, increase, early)
    assert value(vm, rate_times_range, early) != value(vm, increase, early)
    # Outage A within a 2h range that starts 30m before the data: 80 bad samples of 360.
    ratio = 'sum(rate(req_total{code="500"}[2h])) / sum(rate(req_total[2h]))'
    late = both.start + 90 * 60
    ((_, in_vm),) = value(vm, ratio, late)
    assert in_vm == pytest.approx(80 / 360, rel=1e-12)
    assert value(prometheus, ratio, late) == [({}, pytest.approx(in_vm, rel=1e-12))]
    for expr in (
        'absent(slo:sli_total:rate5m{slo="nothing",slo_service="shop"})',
        'sum(rate(req_total{code="404"}[5m])) or 0 * sum(rate(req_total[5m]))',
    ):
        assert value(vm, expr) == value(prometheus, expr), expr


def test_status_answers_the_same_against_victoriametrics(both: Both) -> None:
    """The budget spent over the 7d period, from the raw counters in both engines (the
    history ended two hours ago: no recorded series is recent)."""
    answers = {}
    for name, url in (("victoria", both.victoria), ("prometheus", both.prometheus)):
        result = cli("status", "--prometheus", url, "--format", "json", cwd=both.shop)
        assert result.returncode == 1, result.stdout + result.stderr
        doc = json.loads(result.stdout)["slos"][0]
        [group] = doc["groups"]
        answers[name] = (doc["status"], doc["source"], round(group["budget_left"], 6))
    assert (
        answers["victoria"]
        == answers["prometheus"]
        == (
            "exhausted",
            "raw",
            round(1 - 9200 / 72000 / 0.01, 6),
        )
    )


def test_report_answers_the_same_against_victoriametrics(both: Both) -> None:
    """Attainment (each 5m step's increase, summed) and the tiers' episodes over the 3h."""
    span = ("--from", str(both.start), "--to", str(both.start + 3 * HOUR))
    answers = {}
    for name, url in (("victoria", both.victoria), ("prometheus", both.prometheus)):
        result = cli("report", "--prometheus", url, *span, "--format", "json", cwd=both.shop)
        assert result.returncode == 1, result.stdout + result.stderr
        [group] = json.loads(result.stdout)["slos"][0]["groups"]
        answers[name] = (round(group["attainment"], 9), group["episodes"])
    assert answers["victoria"] == answers["prometheus"]
    assert answers["victoria"][0] == round(1 - 9200 / 72000, 9)
