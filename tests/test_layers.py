"""The package's layers, kept by a test: the stages' folders import only what comes before
them in the pipeline, and importing the pipeline, or starting the command line, loads no
process, HTTP or command-line machinery it does not use (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "slo_compiler"
# What each folder must never import (the edges, and the stages after it).
FORBIDDEN = {
    "source": ("write", "cli", "live", "targets", "importers", "compiler"),
    "rules": ("write", "cli", "live", "targets", "importers", "compiler"),
    "targets": ("cli", "live", "importers", "compiler"),
    "write": ("cli", "live", "importers"),
    "live": ("cli", "importers", "write.files", "write.folder"),
    "importers": ("cli", "live", "write.files", "write.folder"),
}


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a module of the package below `root`."""
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def _offences(folder: str, root: Path = ROOT) -> list[str]:
    out = []
    banned = tuple(f"slo_compiler.{name}" for name in FORBIDDEN[folder])
    for path in sorted((root / "slo_compiler" / folder).rglob("*.py")):
        for line, target in _imports(path, root):
            if any(target == b or target.startswith(b + ".") for b in banned):
                out.append(f"{path.relative_to(root)}:{line}: imports {target}")
    return out


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_stage_imports_nothing_after_it(folder: str) -> None:
    assert _offences(folder) == []


def test_the_layering_test_sees_an_offence(tmp_path: Path) -> None:
    """The check itself, on a package of one module: a rules module importing the writer."""
    probe = tmp_path / "slo_compiler/rules/probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from __future__ import annotations\n\nfrom ..write import text\n")
    assert _offences("rules", tmp_path) == [
        "slo_compiler/rules/probe.py:3: imports slo_compiler.write",
        "slo_compiler/rules/probe.py:3: imports slo_compiler.write.text",
    ]


def _loaded(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


MACHINERY = ("multiprocessing", "ctypes", "requests", "urllib3", "http.client", "click")


def test_the_pipeline_loads_no_process_http_or_cli_machinery() -> None:
    loaded = _loaded("import slo_compiler.compiler")
    assert sorted(m for m in loaded if m.split(".")[0] in MACHINERY or m == "http.client") == []
    ours = {m for m in loaded if m.startswith("slo_compiler.")}
    assert not {m for m in ours if m.startswith(("slo_compiler.cli", "slo_compiler.live"))}


STARTED = """
from slo_compiler.cli import main
try:
    main([%r])
except SystemExit:
    pass
"""
# What starting the command line may load of the package: the entry, the shared base,
# diagnostics (to print errors) and the group with its -q/-v.
START = {
    "slo_compiler",
    "slo_compiler.base",
    "slo_compiler.base.interrupts",
    "slo_compiler.cli",
    "slo_compiler.cli.verbosity",
    "slo_compiler.diagnostics",
    "slo_compiler.entry",
}


@pytest.mark.parametrize("flag", ["-V", "--help"])
def test_version_and_help_load_no_command(flag: str) -> None:
    """Issue 36: --help imported every command (514 modules: requests, multiprocessing,
    pydantic, the live side), -V the writers (yaml, ctypes). The commands' short help is
    the group's table."""
    loaded = _loaded(STARTED % flag)
    assert {m for m in loaded if m.startswith("slo_compiler")} == START
    heavy = ("yaml", "pydantic", "requests", "urllib3", "ctypes", "multiprocessing")
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []


def test_the_command_table_is_each_commands_short_help() -> None:
    import click

    from slo_compiler.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_, _, short) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(limit=200) == short
