"""Issue 36: a target is one module that says everything about itself. Here a target is
defined inside the test, named in the registry and nowhere else: a compile renders it
when asked (not by default, as it says), generated/README.md lists its folder and the
compile's summary counts its files."""

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
