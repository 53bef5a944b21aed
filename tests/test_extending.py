"""The two ways the compiler grows, each done here from inside a test (issue 36):

* a target is one module that says everything about itself: defined in the test and
  named in the registry and nowhere else, a compile renders it when asked (not by
  default, as it says), generated/README.md lists its folder and the compile's summary
  counts its files;
* a new SLI kind is one class with the methods the planner calls."""

from __future__ import annotations

import pytest
from conftest import VALID, source

from slo_compiler import targets
from slo_compiler.cli.summary import line
from slo_compiler.compiler import compile_sources
from slo_compiler.rules.ir import SourcePlan
from slo_compiler.source.config import Config
from slo_compiler.targets import Files, Folder, Kind, Output, Target
from slo_compiler.write.files import Changes


def _render(plans: list[SourcePlan], _config: Config, _inputs: Files) -> Output:
    return Output({f"notes/{p.stem}.txt": f"{len(p.slos)} SLO\n".encode() for p in plans})


NOTES = Target(
    _render,
    folders=(Folder("notes", "A line per SLO file.", "Read it."),),
    kinds=(Kind("notes/", ".txt", "note"),),
    default=False,
    notes=lambda plans, _config: [f"{len(plans)} SLO file noted."],
)


def test_a_target_defined_in_a_test_is_rendered_listed_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(targets.TARGETS, "notes", NOTES)
    default = compile_sources([source(VALID)])
    assert not any(path.startswith("notes/") for path in default.files)
    result = compile_sources([source(VALID)], targets=["+notes"])
    assert result.files["notes/svc.txt"] == b"1 SLO\n"
    readme = result.files["README.md"]
    readme = readme if isinstance(readme, bytes) else readme.render()
    assert b"| `notes/` | A line per SLO file. | Read it. |" in readme
    assert readme.rstrip().endswith(b"1 SLO file noted.")
    summary = line(result, "generated", Changes(added=sorted(result.files)))
    assert summary.endswith(", 1 note"), summary


def test_a_new_sli_kind_is_one_class_the_planner_asks() -> None:
    """Issue 36: a new SLI kind touched the isinstance chains of a dozen modules. Here one
    is a class defined in the test, with the methods the planner calls (sli.SliKind): an
    SLO planned with it gets its ratios and its missing alert, each a valid Prometheus 2
    expression, and no event slices (it counts no events); the live checks and the load
    tool name it, not "a raw SLI", for what it cannot do."""
    from slo_compiler.base.durations import format_duration
    from slo_compiler.live.backtest import UNSUPPORTED, backtest_slo
    from slo_compiler.live.queries import Window
    from slo_compiler.rules import burnrate
    from slo_compiler.rules.ir import AlertRule, Origin, RecordingRule
    from slo_compiler.rules.plan import plan_slo
    from slo_compiler.rules.promql import validate
    from slo_compiler.source.model import SloFile
    from slo_compiler.targets.loadtool import client_threshold

    class Probe:
        """Errors per window from a blackbox probe's success gauge."""

        kind = "probe"
        counters = None
        written = None

        def slices(self, build: object) -> list[tuple[str, str, int | None]]:
            return []

        def ratio(self, build: object, window: int) -> str:
            return f"1 - avg_over_time(probe_success[{format_duration(window)}])"

        def every(self, window: int, period: int, alerted: bool) -> int | None:
            return None

        def scrape_measure(self, build: object, declared: int) -> None:
            return None

        def missing(self, build: object, shortest: int) -> tuple[str, str | None]:
            return "absent(probe_success)", "probe_success"

    model = SloFile.model_validate(
        {
            "apiVersion": "slo-compiler/v1",
            "service": "shop",
            "slos": [{"name": "probe", "objective": 99, "sli": {"raw": {"error_ratio": "x"}}}],
        }
    )
    [slo] = model.slos
    tiers = burnrate.plan_tiers(burnrate.REFERENCE_PERIOD, 15, {})
    plan = plan_slo(
        slo,
        service="shop",
        file_labels={},
        query=Probe(),
        tiers=tiers,
        origin=Origin("x", 1, 1, ""),
    )
    ratios = [r for r in plan.rules if isinstance(r, RecordingRule) and ":ratio_rate" in r.record]
    assert ratios and all(r.expr.startswith("1 - avg_over_time(probe_success[") for r in ratios)
    assert not any("sli_total" in r.record for r in plan.rules if isinstance(r, RecordingRule))
    missing = [r for r in plan.rules if isinstance(r, AlertRule) and r.alert.endswith("SLIMissing")]
    assert [r.expr for r in missing] == ["absent(probe_success)"]
    assert all(validate(r.expr) is not None for r in plan.rules)
    assert plan.slices is None
    history = backtest_slo(None, plan, Window(0, 3600, 60))  # type: ignore[arg-type]
    assert history.status == UNSUPPORTED
    assert history.reasons == ["a probe SLI's events cannot be counted from its expression"]
    assert client_threshold(plan) == "shop/probe: a probe SLI has no client-side equivalent"
