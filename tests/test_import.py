"""`slo-compiler import`: the corpus of inputs and expected outputs (tests/import), Sloth's own
examples against the rules Sloth generated for them (../shared/fixtures/sloth, read in
place), the generated promtool tests of imported SLOs, and the command's file handling."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli, run, source

from slo_compiler import compiler, importers
from slo_compiler.compiler import compile_sources
from slo_compiler.diagnostics import Code
from slo_compiler.rules.promql import parse_selector
from slo_compiler.source.files import discover

CORPUS = ROOT / "tests/import"
EXPECTED = CORPUS / "expected"
# Every importer the command offers, each with a corpus folder of its own (a new one
# without its corpus fails here).
FORMATS = tuple(sorted(importers.FORMATS))
SLOTH = ROOT.parent / "shared/fixtures/sloth"
# Sloth's examples and the format each is imported with (one per file: several of them
# define the same service and SLO, as alternative spellings of one example).
SLOTH_EXAMPLES = {
    "getting-started": "sloth",
    "home-wifi": "sloth",
    "k8s-getting-started": "sloth",
    "k8s-multifile": "sloth",
    "kubernetes-apiserver": "sloth",
    "multifile": "sloth",
    "no-alerts": "sloth",
    "openslo-getting-started": "openslo",
    "raw-home-wifi": "sloth",
}


def _run(fmt: str, inputs: list[tuple[str, bytes]], *args: object) -> importers.Result:
    """importers.run with the compiler's check, as the command composes them."""
    return importers.run(fmt, inputs, compiler.problems, *args)  # type: ignore[arg-type]


def _import(fmt: str, inputs: list[str], out: Path, *flags: str, cwd: Path = ROOT):
    return cli("import", fmt, *inputs, "--out", str(out), *flags, cwd=cwd)


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.yaml"))}


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_imports_to_the_expected_files_and_findings(
    fmt: str, tmp_path: Path, promtool: str
) -> None:
    result = _import(fmt, [f"tests/import/{fmt}"], tmp_path / "slos")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (EXPECTED / f"{fmt}.txt").read_text()
    assert _files(tmp_path / "slos") == _files(EXPECTED / fmt)
    # What it wrote compiles as it is, and the generated tests pass on the real rules.
    _compile_and_test(tmp_path, promtool)


def _compile_and_test(folder: Path, promtool: str) -> None:
    out = folder / "generated"
    compiled = cli("compile", "--slos", "slos", "--out", str(out), cwd=folder)
    assert compiled.returncode == 0, compiled.stderr
    tests = sorted(p.name for p in (out / "prometheus/tests").glob("*.test.yaml"))
    tested = run(promtool, "test", "rules", *tests, cwd=out / "prometheus/tests")
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]


@pytest.mark.parametrize("fmt", FORMATS)
def test_broken_inputs_are_reported_at_their_place_and_nothing_is_written(
    fmt: str, tmp_path: Path
) -> None:
    result = _import(fmt, [f"tests/import/broken/{fmt}.yaml"], tmp_path / "slos")
    assert result.returncode == 1
    assert result.stderr == (EXPECTED / f"broken-{fmt}.txt").read_text()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "slos").exists()


def test_every_import_code_has_a_case() -> None:
    """The corpus pins I001-I005 (each with its position); I006 is the command's own."""
    found = {
        m for path in EXPECTED.glob("*.txt") for m in re.findall(r"\[(I00\d)\]", path.read_text())
    }
    codes = {c.value for c in Code if c.name.startswith("IMPORT_")}
    assert found | {Code.IMPORT_EXISTS.value} == codes


def test_import_is_idempotent_and_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "slos"
    out.mkdir()
    (out / "unrelated.yaml").write_text("# the team's own file\n")
    first = _import("pyrra", ["tests/import/pyrra"], out)
    assert first.returncode == 0, first.stderr
    written = _files(out)
    again = _import("pyrra", ["tests/import/pyrra"], out)
    assert again.returncode == 0, again.stderr
    assert "storefront.yaml (unchanged)" in again.stdout
    assert _files(out) == written, "deterministic: the same bytes again"
    (out / "storefront.yaml").write_text(written["storefront.yaml"] + "# edited by hand\n")
    refused = _import("pyrra", ["tests/import/pyrra"], out)
    assert refused.returncode == 1
    assert f"{out}/storefront.yaml:1:1: error[I006]: exists and differs" in refused.stderr
    assert (out / "storefront.yaml").read_text().endswith("# edited by hand\n")
    forced = _import("pyrra", ["tests/import/pyrra"], out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "storefront.yaml (replaced)" in forced.stdout
    assert _files(out) == written
    assert (out / "unrelated.yaml").read_text() == "# the team's own file\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary files left"


def test_strict_makes_warnings_errors(tmp_path: Path) -> None:
    result = _import("pyrra", ["tests/import/pyrra"], tmp_path / "slos", "--strict")
    assert result.returncode == 1
    assert "warning[I003]" in result.stderr
    assert result.stderr.endswith("5 errors; nothing was written.\n")
    assert not (tmp_path / "slos").exists()


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = _import("nobl9", ["tests/import/pyrra"], tmp_path / "slos")
    assert result.returncode == 2
    assert "'nobl9' is not one of 'openslo', 'pyrra', 'sloth'" in result.stderr


def test_malformed_input_is_positioned(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: prometheus/v1\nservice: a\nservice: b\nslos: [\n")
    result = _import("sloth", [str(bad)], tmp_path / "slos", cwd=tmp_path)
    assert result.returncode == 1
    assert re.match(rf"{bad}:\d+:\d+: error\[Y001\]", result.stderr)


# -- Sloth's own examples against Sloth's own output ---------------------------------------

_SLOTH_CONDITION = re.compile(
    r"slo:sli_error:ratio_rate(\w+)\{[^}]*sloth_slo=\"([^\"]+)\"[^}]*\}"
    r" > \(([\d.]+) \* ([\d.e-]+)\)"
)


def _seconds(window: str) -> int:
    from slo_compiler.base.durations import parse_duration

    return parse_duration(window)


def _sloth_tiers(rules: dict) -> set[tuple[str, str, int, int, float]]:
    """(slo, page|ticket, long, short, factor) of every window pair in Sloth's alerts."""
    out = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            severity = rule["labels"]["sloth_severity"]
            for block in rule["expr"].split(")\nor\n("):
                found = _SLOTH_CONDITION.findall(block)
                assert len(found) == 2, block
                (w1, slo, f1, budget), (w2, _, f2, _) = found
                assert f1 == f2
                short, long = sorted([_seconds(w1), _seconds(w2)])
                out.add((slo, severity, long, short, float(f1), round(float(budget), 9)))
    return out


def _selectors(expr: str) -> set[tuple[str, frozenset]]:
    """The counters an expression reads, by range (Sloth's) or at an offset (our fine
    slices), matchers in any order (le aside: we match a bucket boundary in both
    spellings Prometheus versions write it in)."""
    out = set()
    for text in re.findall(r"([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)(?:\[| offset )", expr):
        s = parse_selector(text)
        out.add((s.metric, frozenset(m for m in s.matchers if m.name != "le")))
    return out


def _require_sloth_fixtures() -> None:
    if not SLOTH.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Sloth's fixtures are missing: {SLOTH}")
        pytest.skip(f"Sloth's fixtures are not beside this checkout ({SLOTH})")


@pytest.mark.parametrize("example", sorted(SLOTH_EXAMPLES))
def test_sloth_examples_keep_sloths_windows_factors_and_thresholds(
    example: str, tmp_path: Path, promtool: str
) -> None:
    """Import Sloth's example, compile it, and compare with the rules Sloth generated:
    every page and ticket window pair, factor and error budget is the same, and the SLI
    reads the same series. Where we differ by design (and so do not compare): each tier is
    its own alert rule with a `for` of a fifth of its short window (Sloth: one rule per
    severity, no `for`); every window is an event-weighted sum of recorded slices (Sloth
    reads the counters, and averages 5m ratios over its period); our labels are
    slo/slo_service, Sloth's sloth_*.
    Then the generated promtool tests of the imported SLOs pass."""
    _require_sloth_fixtures()
    fmt = SLOTH_EXAMPLES[example]
    result = _import(fmt, [str(SLOTH / "in" / f"{example}.yml")], tmp_path / "slos")
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr
    compiled = compile_sources(discover(str(tmp_path / "slos")))
    documents = list(yaml.safe_load_all((SLOTH / "out" / f"{example}.yml").read_text()))
    # Rule files, or prometheus-operator PrometheusRules (their spec), one per service.
    sloth = {"groups": [g for d in documents for g in d.get("spec", d)["groups"]]}
    ours = {
        (
            slo.name,
            tier.severity,
            tier.long_window,
            tier.short_window,
            float(tier.factor),
            round(float(slo.budget), 9),
        )
        for plan in compiled.plans
        for slo in plan.slos
        for tier in slo.tiers
    }
    assert ours == _sloth_tiers(sloth)
    # The SLI: Sloth's 5m error ratio reads the same series as our fine slices (the only
    # rules of ours on the counters), or as a raw SLI's 5m ratio.
    theirs_5m = {
        r["labels"]["sloth_slo"]: _selectors(r["expr"])
        for g in sloth["groups"]
        for r in g["rules"]
        if r.get("record") == "slo:sli_error:ratio_rate5m"
    }
    for plan in compiled.plans:
        for slo in plan.slos:
            ours_5m = set().union(
                *(
                    _selectors(r.expr)
                    for r in slo.rules
                    if getattr(r, "record", "").endswith(("rate30s", "ratio_rate5m"))
                )
            )
            # Sloth names an OpenSLO objective's SLO <name>-<index>; one objective keeps
            # its SLO's name here.
            theirs = theirs_5m.get(slo.name, theirs_5m.get(f"{slo.name}-0"))
            assert theirs is not None and theirs <= ours_5m, slo.name
    # And the tests generated for the imported SLOs pass on the real rules.
    _compile_and_test(tmp_path, promtool)


def _paths(data: object, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(data, dict):
        out += [p for k, v in data.items() for p in _paths(v, (*at, k))]
    elif isinstance(data, list):
        out += [p for i, v in enumerate(data) for p in _paths(v, (*at, i))]
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_value_of_the_wrong_type_anywhere_is_a_finding_never_a_traceback(fmt: str) -> None:
    """Every value of every corpus input, replaced in turn by a list, a string and a number:
    the importer reports (or takes) it, and never raises."""
    import copy

    files = sorted((CORPUS / fmt).glob("*.yaml"))
    inputs = [(str(f), list(yaml.safe_load_all(f.read_text()))) for f in files]
    for index, (path, docs) in enumerate(inputs):
        for d, doc in enumerate(docs):
            for at in _paths(doc)[1:]:
                for wrong in ([1, 2], "text", 7):
                    mutated = copy.deepcopy(docs)
                    target = mutated[d]
                    for key in at[:-1]:
                        target = target[key]
                    target[at[-1]] = wrong
                    given = [(p, yaml.safe_dump_all(x).encode()) for p, x in inputs]
                    given[index] = (path, yaml.safe_dump_all(mutated).encode())
                    _run(fmt, given)  # raises on a crash


def test_inputs_are_read_as_slo_files_are(tmp_path: Path) -> None:
    """A FIFO among the inputs is refused unopened (it would block the read), as in the SLO
    folder, and every unreadable input is reported at once."""
    import os

    specs = tmp_path / "specs"
    specs.mkdir()
    os.mkfifo(specs / "pipe.yaml")
    result = _import("pyrra", [str(specs), str(tmp_path / "missing.yaml")], tmp_path / "out")
    assert result.returncode == 1
    assert f"{specs}/pipe.yaml:1:1: error[Y006]: is not a regular file" in result.stderr
    assert f"{tmp_path}/missing.yaml:1:1: error[Y006]: cannot read" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_file_name_cannot_write_a_key_into_the_imported_file(tmp_path: Path) -> None:
    """A spec named `a<newline>scrape_interval: 5m<newline>#.yaml` in a folder: the header
    names it on one line (escaped), and the written SLO file has no such key."""
    specs = tmp_path / "specs"
    specs.mkdir()
    hostile = specs / "a\nscrape_interval: 5m\n#.yaml"
    hostile.write_bytes((ROOT / "tests/import/sloth/checkout.yaml").read_bytes())
    result = cli("import", "sloth", "specs", "--out", "slos", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [written] = (tmp_path / "slos").iterdir()
    text = written.read_text()
    assert "scrape_interval" not in yaml.safe_load(text)
    assert "a\\x0ascrape_interval: 5m\\x0a#.yaml" in text.splitlines()[1]


UPSTREAM = ROOT.parent / "shared/fixtures/upstream-slos"


def test_a_shared_sloth_alert_name_is_renamed_with_a_warning() -> None:
    path = UPSTREAM / "sloth/contrib-slo-plugins.yml"
    if not path.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    result = _run("sloth", [(str(path), path.read_bytes())])
    [renamed] = [d for d in result.diagnostics if "renamed" in d.message]
    assert (renamed.line, renamed.level) == (54, "warning")
    assert "renamed 'RequestsAvailabilityContribPluginRuleIntervalsV1BudgetBurn'" in str(renamed)


def test_a_tier_that_can_never_fire_is_left_out_with_a_warning() -> None:
    """Pyrra's 90% examples were refused whole (V005: page-fast's 14.4x of a 10% budget is
    over 100% of events); the importer chooses the tiers, so it leaves that one out."""
    path = UPSTREAM / "pyrra/caddy-response-latency.yaml"
    if not path.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    result = _run("pyrra", [(str(path), path.read_bytes())])
    assert [d.message for d in result.diagnostics if "tier" in d.message] == [
        "tier page-fast can never fire at a 90% objective (14.4x a 10% budget is over 100% "
        "of events): left out"
    ]
    [text] = result.files.values()
    assert yaml.safe_load(text)["slos"][0]["alerting"]["tiers"] == {"page-fast": {"enabled": False}}
    compile_sources([source(text.decode(), "default.yaml")])


def test_sloth_alert_windows_apply_to_the_specs_given_with_them() -> None:
    """Sloth's AlertWindows (a 7d period, each tier's share of the budget over its long
    window): alone it is refused for what it is; with specs, their period and tiers."""
    windows = UPSTREAM / "sloth/windows-7d.yaml"
    spec = UPSTREAM / "sloth/getting-started.yml"
    if not windows.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    alone = _run("sloth", [(str(windows), windows.read_bytes())])
    assert [(d.code.value, d.message.split(":")[0]) for d in alone.diagnostics] == [
        ("I001", "AlertWindows holds Sloth's alert windows for a period, not SLOs")
    ]
    both = _run("sloth", [(str(windows), windows.read_bytes()), (str(spec), spec.read_bytes())])
    assert not [d for d in both.diagnostics if d.level == "error"]
    [text] = both.files.values()
    slo = yaml.safe_load(text)["slos"][0]
    assert slo["period"] == "7d"
    assert slo["alerting"]["tiers"]["page-fast"] == {
        "long_window": "1h", "short_window": "5m", "factor": 13.44  # 8% of 7d over 1h
    }  # fmt: skip
    result = compile_sources([source(text.decode(), "myservice.yaml")])
    spent = [t.budget_spent for t in result.plans[0].slos[0].tiers]
    assert [float(s) for s in spent] == [0.08, 0.125, 0.2, 0.42]  # Sloth's errorBudgetPercent


def test_a_pyrra_latency_over_another_total_is_the_ratio_of_the_two_selectors() -> None:
    """nginx's example: 5xx requests under 1s over every request. As a latency SLI on the
    bucket's selector the denominator shrank to the 5xx requests; the ratio is exact."""
    path = UPSTREAM / "pyrra/nginx.yaml"
    if not path.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    result = _run("pyrra", [(str(path), path.read_bytes())])
    [text] = result.files.values()
    [slo] = [s for s in yaml.safe_load(text)["slos"] if s["name"] == "nginx-api-latency"]
    ratio = slo["sli"]["ratio"]
    assert parse_selector(ratio["good"]).metric.endswith("_bucket")
    assert 'status=~"5.."' in ratio["good"] and 'le="1"' in ratio["good"]
    assert ratio["total"].startswith("nginx_ingress_controller_request_duration_seconds_count{")
    assert "status" not in ratio["total"]


def test_an_slo_with_every_tier_off_says_its_sli_missing_alert_stays() -> None:
    path = UPSTREAM / "sloth/no-alerts.yml"
    if not path.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    result = _run("sloth", [(str(path), path.read_bytes())])
    [said] = [d for d in result.diagnostics if "burn-rate alert is off" in d.message]
    assert "the SLI's series are missing is still generated" in said.message


def test_partial_writes_what_imports_and_still_exits_1(tmp_path: Path) -> None:
    """All or nothing by default; --partial keeps the SLOs that import, the errors naming
    the ones left out, and exits 1 all the same."""
    inputs = ["tests/import/sloth/checkout.yaml", "tests/import/broken/sloth.yaml"]
    whole = _import("sloth", inputs, tmp_path / "all")
    assert whole.returncode == 1 and not (tmp_path / "all").exists()
    partial = _import("sloth", inputs, tmp_path / "some", "--partial")
    assert partial.returncode == 1
    assert partial.stderr.splitlines()[-1].endswith(
        "errors: the SLOs and files they name were left out."
    )
    written = sorted(p.name for p in (tmp_path / "some").iterdir())
    assert "checkout.yaml" in written
    assert cli("validate", "--slos", str(tmp_path / "some"), cwd=tmp_path).returncode == 0


def _outcome(path: Path) -> tuple[str, str, importers.Result]:
    result = _run(path.parent.name, [(str(path), path.read_bytes())])
    errors = sorted({d.code.value for d in result.diagnostics if d.level == "error"})
    warnings = sorted({d.code.value for d in result.diagnostics if d.level != "error"})
    if errors or not result.files:
        return "refused", ",".join(errors) or "-", result
    return "imported", ",".join(warnings) or "-", result


def test_every_upstream_example_has_its_expected_outcome(promtool: str, tmp_path: Path) -> None:
    """Issue 26: each published example imports (with the warnings that say what changed)
    or is refused (with the code of its true reason), as tests/import/upstream.tsv says;
    what imports compiles, and promtool loads the rules it compiles to."""
    if not UPSTREAM.is_dir():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    expected = {
        line.split("\t", 1)[0]: line.split("\t", 1)[1]
        for line in (ROOT / "tests/import/upstream.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    }
    found, rules = {}, []
    for path in sorted(UPSTREAM.rglob("*.y*ml")):
        outcome, codes, result = _outcome(path)
        found[str(path.relative_to(UPSTREAM))] = f"{outcome}\t{codes}"
        if outcome == "imported":
            sources = [source(data.decode(), name) for name, data in result.files.items()]
            for name, data in compile_sources(sources, targets=["prometheus"]).files.items():
                if name.startswith("prometheus/") and name.endswith(".rules.yaml"):
                    rules.append(tmp_path / f"{path.stem}-{Path(name).name}")
                    rules[-1].write_bytes(data)
    assert found == expected
    checked = run(promtool, "check", "rules", *map(str, rules))
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]


def test_a_grouped_pyrra_bool_gauge_stays_grouped() -> None:
    """With 200 probes one dead target is 0.5% of a fleet-wide ratio, under a 1% budget:
    it never alerted, where Pyrra alerts on that target. Grouped, it does."""
    path = UPSTREAM / "pyrra/prometheus-probe-success.yaml"
    if not path.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    result = _run("pyrra", [(str(path), path.read_bytes())])
    assert not [d for d in result.diagnostics if "grouping" in d.message]
    [text] = result.files.values()
    [slo] = yaml.safe_load(text)["slos"]
    assert slo["group_by"] and "sum by (" in slo["sli"]["raw"]["error_ratio"]
    compile_sources([source(text.decode(), "monitoring.yaml")])


def test_a_sloth_period_taken_from_sloths_default_is_said() -> None:
    """Sloth's specs carry no period (its command line does): a 7d Sloth setup imported
    without its AlertWindows became 30d without a word."""
    windows = UPSTREAM / "sloth/windows-7d.yaml"
    spec = UPSTREAM / "sloth/getting-started.yml"
    if not windows.is_file():
        pytest.skip(f"the upstream examples are not beside this checkout ({UPSTREAM})")
    alone = _run("sloth", [(str(spec), spec.read_bytes())])
    assert any("imported as 30d, Sloth's default" in d.message for d in alone.diagnostics)
    both = _run("sloth", [(str(windows), windows.read_bytes()), (str(spec), spec.read_bytes())])
    assert not any("Sloth's default" in d.message for d in both.diagnostics)


def test_the_docs_count_the_upstream_examples_that_import() -> None:
    """Issue 38: docs/import.md said 42 of 129 where 41 imported."""
    rows = [
        line.split("\t")
        for line in (ROOT / "tests/import/upstream.tsv").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    imported = sum(row[1] == "imported" for row in rows)
    said = f"({imported} of {len(rows)} import;"
    assert said in (ROOT / "docs/import.md").read_text(), said


SLOTH_PLUGINS = """\
version: prometheus/v1
service: shop
slo_plugins:
  chain:
    - id: sloth.dev/core/debug/v1
slos:
  - name: checkout
    objective: 99.9
    plugins:
      chain:
        - id: %s
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
"""


@pytest.mark.parametrize(
    "plugin",
    [
        "sloth.dev/contrib/denominator_corrected_rules/v1",
        "sloth.dev/contrib/error_budget_exhausted_alert/v1",
        "sloth.dev/contrib/remove_labels/v1",
        "example.com/team/own/v1",
    ],
)
def test_a_sloth_plugin_that_may_change_the_alerts_is_refused_with_partial_too(
    plugin: str, tmp_path: Path
) -> None:
    """Issue 38: --partial wrote the SLO whose denominator-corrected plugin it refused
    (silently uncorrected), and plugins outside a short denylist were dropped. Now the
    known harmless ones are dropped, each named; every other is refused, partial or not."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(SLOTH_PLUGINS % plugin)
    done = _import("sloth", [str(spec)], tmp_path / "out", "--partial")
    assert done.returncode == 1 and not (tmp_path / "out").exists(), done.stderr
    assert f"spec.yaml:11:15: error[I005]: Sloth's plugin {plugin} " in done.stderr
    assert "spec.yaml:5:7: warning[I002]: Sloth's plugin sloth.dev/core/debug/v1" in done.stderr
    safe = spec.read_text().replace(plugin, "sloth.dev/contrib/info_labels/v1")
    spec.write_text(safe)
    assert _import("sloth", [str(spec)], tmp_path / "ok").returncode == 0


def test_every_unsupported_feature_of_an_openslo_slo_is_named_at_once(tmp_path: Path) -> None:
    """Issue 38: the Timeslices refusal hid the calendar window beside it."""
    spec = tmp_path / "slo.yaml"
    spec.write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: checkout}\nspec:\n"
        "  service: shop\n  budgetingMethod: Timeslices\n"
        "  timeWindow: [{duration: 1M, isRolling: false, calendar: {startTime: '2022-01-01 "
        "00:00:00', timeZone: UTC}}]\n"
        "  indicator:\n    metadata: {name: errors}\n    spec:\n      ratioMetric:\n"
        "        counter: true\n"
        "        good: {metricSource: {type: Prometheus, spec: {query: 'ok_total'}}}\n"
        "        total: {metricSource: {type: Prometheus, spec: {query: 'all_total'}}}\n"
        "  objectives: [{target: 0.99}]\n"
    )
    done = _import("openslo", [str(spec)], tmp_path / "out")
    assert done.returncode == 1
    assert "calendar windows are not supported" in done.stderr
    assert "budgetingMethod 'Timeslices' is not supported" in done.stderr


def test_a_pyrra_native_histogram_latency_is_a_raw_sli_promtool_accepts(
    promtool: str, tmp_path: Path
) -> None:
    spec = UPSTREAM / "pyrra/pyrra-connect-latency.yaml"
    if not spec.is_file():
        _require_sloth_fixtures()
    done = _import("pyrra", [str(spec)], tmp_path / "slos")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "slos/monitoring.yaml").read_text()
    assert "1 - histogram_fraction(0, 0.2, sum by (service, method) (rate(" in text
    assert cli("compile", "-q", cwd=tmp_path).returncode == 0
    rules = sorted(str(p) for p in (tmp_path / "generated/prometheus").glob("*.rules.yaml"))
    assert run(promtool, "check", "rules", *rules).returncode == 0
