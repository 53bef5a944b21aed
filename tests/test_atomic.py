"""All or nothing: a render that fails, or a write interrupted half-way, leaves generated/
exactly as it was; and the output does not depend on hash seeds or file-system order."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from conftest import ROOT, cli, compile_many, read_tree, run_patched, source, wait_ready

from slo_compiler.write import files as output
from slo_compiler.write.files import write_tree

FAILING_RENDER = """
import sys
import slo_compiler.targets as targets

def broken(plans, config, inputs):
    raise RuntimeError("a render failing on purpose")

# The last target to run fails, after every other one has rendered its files.
targets.TARGETS["kubernetes"] = targets.Target(broken)
from slo_compiler.cli import main
main(["compile"])
"""


FAILING_TESTS_RENDER = """
import slo_compiler.targets.promtool.tests as tests

def broken(plan, alerts_apart):
    raise RuntimeError("a test render failing on purpose in " + plan.stem)

# The generated tests render while the tree is written, in worker processes.
tests._rendered = broken
from slo_compiler.cli import main
main(["compile"])
"""


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (FAILING_RENDER, "a render failing on purpose"),
        (FAILING_TESTS_RENDER, "a test render failing on purpose in auth-service"),
    ],
    ids=["while compiling", "while writing"],
)
def test_a_render_failing_on_purpose_leaves_the_old_tree(
    repo: Path, code: str, message: str
) -> None:
    """A target failing while the compile renders, or a deferred file (the generated
    tests, rendered by helper processes where the machine has several cores) failing
    while the tree is written: generated/ stays as it was, nothing staged is left."""
    source = repo / "slos/payment-service.yaml"
    source.write_text(source.read_text().replace("objective: 99.5", "objective: 99.9"))
    before = read_tree(repo / "generated")
    result = run_patched(code, repo)
    assert result.returncode != 0
    assert message in result.stderr
    assert read_tree(repo / "generated") == before
    assert not list(repo.glob(".generated.*"))


def test_writing_a_tree_with_helpers_gives_every_file_once(tmp_path: Path) -> None:
    """The helper processes (the writer's, on a machine with more than one core) render
    and write the deferred files themselves: the tree they write, and what the writer
    reports of it, are those of writing every file in this process."""
    from slo_compiler.compiler import compile_sources
    from slo_compiler.source.files import discover
    from slo_compiler.write.helpers import helpers

    files = compile_sources(discover(str(ROOT / "slos"))).files
    with helpers() as renderer:
        assert renderer is not None or len(os.sched_getaffinity(0)) < 2
        helped = write_tree(tmp_path / "helped", files, renderer=renderer)
    alone = write_tree(tmp_path / "alone", files)
    assert read_tree(tmp_path / "helped") == read_tree(tmp_path / "alone") == dict(files.items())
    assert (helped.added, helped.tree) == (alone.added, alone.tree) == (sorted(files), alone.tree)
    # Written again over itself: nothing changes, whichever writes.
    with helpers() as renderer:
        again = write_tree(tmp_path / "alone", files, renderer=renderer)
    assert not again and again.tree == alone.tree


def test_the_helpers_get_one_task_per_slo_file_with_each_group_once() -> None:
    """What the helpers are handed (Tree.split): one task per SLO file, holding every
    group of its files once, though its targets hold plans of their own (one per SLO for
    the rule files and tests, whose alerts files come with them here); together they
    render exactly the files the tree defers."""
    from slo_compiler.compiler import compile_sources
    from slo_compiler.emit.tree import render_task
    from slo_compiler.source.files import discover

    sources = discover(str(ROOT / "slos"))
    # Grafana evaluates the alerts: the tests load theirs from files of their own.
    config = source("apiVersion: slo-compiler/v1\nalert_engine: grafana\n", "config.yaml")
    files = compile_sources(sources, config).files
    assert any(path.endswith(".alerts.yaml") for path in files)
    plain, tasks = files.split()
    assert len(tasks) == len(sources) > 1
    rendered: dict[str, bytes] = {}
    for task in tasks:
        assert len({args[0].source for _, args in task}) == 1
        groups = [(render, tuple(map(id, args))) for render, args in task]
        assert len(groups) == len(set(groups)), "a group twice in a task"
        files_of_task = render_task(task)
        assert not set(files_of_task) & set(rendered), "a file in two tasks"
        rendered.update(files_of_task)
    assert sorted([*plain, *rendered]) == sorted(files)
    assert rendered == {path: files[path] for path in rendered}


def test_a_write_interrupted_half_way_leaves_the_old_tree(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = read_tree(repo / "generated")
    new = {path: data + b"# changed\n" for path, data in before.items()}
    written = 0
    real = Path.write_bytes

    def interrupted(self: Path, data: bytes) -> int:
        nonlocal written
        written += 1
        if written > len(new) // 2:
            raise KeyboardInterrupt
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_tree(repo / "generated", new)
    monkeypatch.undo()
    assert read_tree(repo / "generated") == before
    assert not list(repo.glob(".generated.*")), "the staging folder is cleaned up"


def test_the_swap_without_renameat2_is_also_complete(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the atomic exchange is unavailable, the fallback (two renames) still ends
    with exactly the new tree and no leftovers."""
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    new = {"prometheus/only.rules.yaml": b"groups: []\n"}
    write_tree(repo / "generated", new)
    assert read_tree(repo / "generated") == new
    assert not list(repo.glob(".generated.*"))


def test_sigint_during_compile_leaves_old_or_new_never_a_mix(repo: Path) -> None:
    """Ctrl-C at some moment of a compile of many SLOs: generated/ is the old tree or the
    complete new one."""
    before = read_tree(repo / "generated")
    process = compile_many(repo)
    wait_ready(repo, process)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    after = read_tree(repo / "generated")
    assert after == before or "prometheus/many14.s149.rules.yaml" in after
    if after != before:  # it finished: then the tree is complete and checks clean
        assert cli("check", cwd=repo).returncode == 0
    assert not list(repo.glob(".generated.*"))


def test_output_does_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    trees = []
    for seed in ("1", "4242"):
        work = tmp_path / seed
        shutil.copytree(ROOT / "slos", work / "slos")
        shutil.copy(ROOT / "slo-compiler.yaml", work)
        assert cli("compile", cwd=work, env={"PYTHONHASHSEED": seed}).returncode == 0
        trees.append(read_tree(work / "generated"))
    assert trees[0] == trees[1]
