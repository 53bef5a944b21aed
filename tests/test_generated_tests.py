"""The generated promtool tests: the model behind them, their coverage, that promtool passes
them on the real rules, and that they fail when the rules are wrong (mutation check)."""

from __future__ import annotations

import math
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, compile_texts, run

from slo_compiler.base.durations import parse_duration
from slo_compiler.compiler import compile_sources
from slo_compiler.rules.burnrate import SLICE, Slices, detection, is_recorded
from slo_compiler.rules.ir import SloPlan, SourcePlan
from slo_compiler.source.files import Source, discover
from slo_compiler.targets.promtool import tests as promtool_tests
from slo_compiler.targets.promtool.simulate import Clock, GroupModel, Traffic

GENERATED_TESTS = sorted((ROOT / "generated/prometheus/tests").glob("*.test.yaml"))
EXAMPLES = compile_sources(discover(str(ROOT / "slos"))).plans
# The unit of the rule files and their tests: one SLO, `<file>.<slo>`.
UNITS = [unit for plan in EXAMPLES for unit in plan.per_slo()]


def _test_files(stem: str, folder: Path = ROOT / "generated/prometheus/tests") -> list[Path]:
    """A rule file's test files: `<stem>.test.yaml` and one per coarser interval."""
    return [folder / f"{stem}.test.yaml", *sorted(folder.glob(f"{stem}.every-*.test.yaml"))]


def _brute_ratio(traffic: Traffic, clock: Clock, t: int, window: int) -> Fraction:
    """The rules' ratio by direct summation, as Prometheus evaluates it step by step."""

    # The counter after each sample: sample k (at k * sample) adds the events of the phase
    # in force just before it.
    counter = [0]
    for k in range(1, t // clock.sample + 1):
        per = next(per for start, per in reversed(traffic.errors) if start < k * clock.sample)
        counter.append(counter[-1] + per)

    def errors(x: int) -> int:
        return counter[max(0, x) // clock.sample]

    def total(x: int) -> int:
        return traffic.total * (max(0, x) // clock.sample)

    def evaluations(at: int, span: int) -> list[int]:
        """Evaluation times in [at - span, at] (the range includes both ends)."""
        return [s for s in range(clock.step, at + 1, clock.step) if s >= at - span]

    def fine(counter: Any, s: int) -> int:
        if s < clock.slices.reads:  # the earlier instant is before the series' first sample
            return 0
        return counter(s - clock.slices.delay) - counter(s - clock.slices.reads)

    def coarse(counter: Any, s: int) -> int:
        if clock.slices.fine == SLICE:
            return fine(counter, s)
        return sum(fine(counter, u) for u in evaluations(s, SLICE))

    sliced = coarse if is_recorded(window) else fine
    e = sum(sliced(errors, s) for s in evaluations(t, window))
    n = sum(sliced(total, s) for s in evaluations(t, window))
    return Fraction(e, n) if n else Fraction(0)


def test_closed_form_model_equals_step_by_step_evaluation() -> None:
    rng = random.Random(7)
    for _ in range(150):
        scrape = rng.choice([15, 30, 60])
        slices = Slices(rng.choice([60, 120, 240]), scrape)
        # Inputs sampled on the slices' instants, as the generated tests sample them.
        sample = math.gcd(scrape, slices.delay)
        clock = Clock(sample, rng.choice([60, 120, 180, 300, 420, 1440]), slices)
        total = rng.randint(0, 10_000)
        starts = sorted({0, *(rng.randint(1, 400) * 60 for _ in range(rng.randint(0, 3)))})
        traffic = Traffic(total, tuple((s, rng.randint(0, total)) for s in starts))
        model = GroupModel(traffic, clock)
        t = rng.randint(1, 400) * clock.step
        for window in (300, 3600, 7200, 43200, 86400):
            assert model.ratio(t, window) == _brute_ratio(traffic, clock, t, window)


def _step_scenarios(plan: SourcePlan) -> list[tuple[SloPlan, Any, Any]]:
    out = []
    for slo_plan in plan.slos:
        for tier in slo_plan.tiers:
            slo = promtool_tests._Slo(slo_plan, promtool_tests.tier_clock(tier))
            out.append((slo, tier, slo.scenario("step", tier, {})))
    return out


@pytest.mark.parametrize("plan", EXAMPLES, ids=lambda p: p.stem)
def test_step_scenarios_fire_within_one_evaluation_of_the_prediction(
    plan: SourcePlan,
) -> None:
    for slo, tier, scenario in _step_scenarios(plan):
        (_, traffic) = scenario.traffic[0]
        start, bad = traffic.errors[1]  # healthy from 0, then the step
        burn = Fraction(bad, traffic.total) / slo.shape.budget
        exact_burn = Decimal(burn.numerator) / Decimal(burn.denominator)
        predicted = detection(
            tier, exact_burn, slo.clock.step, in_promtool=True, slices=slo.clock.slices
        ).fires
        assert predicted is not None
        fired = scenario.end - start
        # The condition holds from the first evaluation at or after the predicted detection,
        # and `for` ends at the first evaluation at or past it: late by at most one step,
        # plus what `for` overshoots a whole number of steps by.
        step = slo.clock.step
        assert 0 <= fired - predicted <= step + -tier.for_ % step, (slo.plan.name, tier.name)


@pytest.mark.parametrize("stem", [u.stem for u in UNITS])
def test_every_alert_has_a_firing_and_a_quiet_case(stem: str) -> None:
    """Across a rule file's test files (its tiers are tested at different intervals): an
    alert is its name and its tier's window (none for the alerts about the SLI)."""
    docs = [(path, yaml.safe_load(path.read_text())) for path in _test_files(stem)]
    alerts = {
        (rule["alert"], rule["labels"].get("slo_window", ""))
        for path, doc in docs
        for rule_file in doc["rule_files"]
        for group in yaml.safe_load((path.parent / rule_file).read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert len(alerts) >= 5, "every SLO has four tiers and an SLI-missing alert"
    firing: set[tuple[str, str]] = set()
    quiet: set[tuple[str, str]] = set()
    for group in (g for _, doc in docs for g in doc["tests"]):
        for case in group["alert_rule_test"]:
            name = case["alertname"]
            listed = {(name, a["exp_labels"].get("slo_window", "")) for a in case["exp_alerts"]}
            firing |= listed
            quiet |= {a for a in alerts if a[0] == name and a not in listed}
    assert alerts <= firing, alerts - firing
    assert alerts <= quiet, alerts - quiet


def _promtool_test(promtool: str, paths: list[Path]) -> Any:
    return run(promtool, "test", "rules", *(p.name for p in paths), cwd=paths[0].parent)


def test_promtool_passes_every_generated_test(promtool: str) -> None:
    """Each rule file's test files in one promtool run, two runs at a time (promtool uses
    about one core each)."""
    per_file = {unit.stem: _test_files(unit.stem) for unit in UNITS}
    assert sorted(p for paths in per_file.values() for p in paths) == GENERATED_TESTS
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda paths: _promtool_test(promtool, paths), per_file.values())
        results = dict(zip(per_file, runs, strict=True))
    failed = {s: r.stdout[-3000:] + r.stderr[-3000:] for s, r in results.items() if r.returncode}
    assert not failed, failed


# The mutation check runs the 7d example's tests (the cheapest) against rules broken on
# purpose. A generated test that passes either mutant proves nothing.
MUTANT_SOURCE = "auth-service.login-availability"


def _mutant_run(promtool: str, tmp_path: Path, mutate: Any) -> Any:
    """The committed tests of MUTANT_SOURCE against its rules with `mutate` applied to the
    file that holds the alerts (the test-only alerts file when Grafana evaluates them)."""
    generated = ROOT / "generated/prometheus"
    shutil.copytree(generated, tmp_path / "prometheus")
    alerts = tmp_path / f"prometheus/tests/{MUTANT_SOURCE}.alerts.yaml"
    if not alerts.exists():
        alerts = tmp_path / f"prometheus/{MUTANT_SOURCE}.rules.yaml"
    original = alerts.read_text()
    mutated = mutate(original)
    assert mutated != original
    alerts.write_text(mutated)
    return _promtool_test(promtool, _test_files(MUTANT_SOURCE, tmp_path / "prometheus/tests"))


def test_mutation_threshold_ten_percent_high_fails_the_tests(promtool: str, tmp_path: Path) -> None:
    # page-fast's factor 14.4 -> 15.84: the step to 1.1x the factor no longer pages in time.
    result = _mutant_run(promtool, tmp_path, lambda text: text.replace("> 14.4\n", "> 15.84\n"))
    assert result.returncode != 0
    assert 'slo_window="14m"' in result.stderr


def test_mutation_short_window_dropped_fails_the_tests(promtool: str, tmp_path: Path) -> None:
    """Without the short window a tier keeps firing after the burn is over, and fires on
    an old burn: here page-fast's condition loses its second half."""

    def drop_short_window(text: str) -> str:
        doc = yaml.safe_load(text)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if rule.get("labels", {}).get("slo_window") == "14m":
                    rule["expr"] = rule["expr"].split("\nand\n")[0]
        return yaml.safe_dump(doc, sort_keys=False)

    result = _mutant_run(promtool, tmp_path, drop_short_window)
    assert result.returncode != 0


def test_grouped_slo_with_a_single_allowed_value_still_gets_tests() -> None:
    result = compile_texts(
        """
        apiVersion: slo-compiler/v1
        service: ticket-service
        slos:
          - name: reserve
            objective: 99
            sli:
              ratio:
                errors: http_server_requests_seconds_count{uri="/api/seats/reserve", status="409"}
                total: http_server_requests_seconds_count{uri="/api/seats/reserve"}
            group_by: [uri]
        """
    )
    names = [
        t["name"]
        for path, text in result.files.items()
        if path.startswith("prometheus/tests/file0.") and path.endswith(".test.yaml")
        for t in yaml.safe_load(text)["tests"]
    ]
    assert any("ticket-slow fires" in n for n in names)
    assert not any("alerts only that group" in n for n in names)


def test_annotation_rendering_matches_prometheus_for_the_supported_actions() -> None:
    from slo_compiler.base.templates import render

    text = (
        'uri={{ $labels.uri }} {{$value|printf "%.1f"}}x {{ $value | printf "%.3f" }} '
        "{{ $labels.x }}"
    )
    assert render(text, {"uri": "/a"}, 16.66) == "uri=/a 16.7x 16.660 <no value>"


def test_firing_state_equals_an_evaluation_by_evaluation_state_machine() -> None:
    """is_firing bisects instead of walking every evaluation; on the traffic shapes the
    tests use (step up, steady, burn then recovery) it must agree with the walk."""
    from slo_compiler.rules.burnrate import plan_tiers
    from slo_compiler.targets.promtool.simulate import is_firing

    rng = random.Random(3)
    tiers = plan_tiers(parse_duration("7d"))
    budget = Fraction(1, 100)
    for _ in range(30):
        clock = Clock(15, rng.choice([60, 420]))  # as fine as a fast tier's, as a slow one's
        total = 10_000
        start, stop = rng.randint(0, 300) * 60, rng.randint(301, 900) * 60
        shape = rng.choice(["step", "steady", "recovery"])
        bad = rng.randint(0, total)
        errors = {
            "step": ((0, 0), (start, bad)),
            "steady": ((0, bad),),
            "recovery": ((0, bad), (stop, 0)),
        }[shape]
        model = GroupModel(Traffic(total, errors), clock)
        for tier in tiers:
            threshold = Fraction(tier.factor) * budget
            active = None
            for j in range(1, 1200):
                t = j * clock.step
                holds = all(
                    model.ratio(t, w) > threshold for w in (tier.long_window, tier.short_window)
                )
                active = (active if active is not None else j) if holds else None
                walked = active is not None and (j - active) * clock.step >= tier.for_
                if j % 37 == 0:
                    assert is_firing(model, tier, budget, t) == walked, (shape, tier.name, t)


def test_slos_scraped_every_minute_compile_and_their_tests_pass(
    promtool: str, tmp_path: Path
) -> None:
    """Issue 38 (found by `init`): at a 1m scrape (Prometheus' default) a 30d SLO's fine
    slices are 2m, and its windows fill later than the recovery scenario waited for: the
    compile died on an assertion. Each kind of event SLI, 30d and 28d, at 1m: compiled,
    and promtool passes every generated test."""
    text = (
        "apiVersion: slo-compiler/v1\nservice: svc\nscrape_interval: 1m\nslos:\n"
        "  - name: availability\n    objective: 99.9\n    period: 30d\n    sli:\n      ratio:\n"
        '        errors: http_requests_total{code=~"5.."}\n        total: http_requests_total\n'
        "  - name: latency\n    objective: 99\n    period: 28d\n    sli:\n      latency:\n"
        "        histogram: http_request_duration_seconds\n        threshold: 0.5\n"
    )
    result = compile_sources([Source("svc.yaml", "svc.yaml", "svc", text.encode())])
    folder = tmp_path / "tests"
    folder.mkdir()
    for path in result.files:
        if path.startswith("prometheus/"):
            target = tmp_path / path.removeprefix("prometheus/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(result.files[path])
    tests = sorted(p.name for p in folder.glob("*.test.yaml"))
    assert len(tests) >= 4, tests
    done = run(promtool, "test", "rules", *tests, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
