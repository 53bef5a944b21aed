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
# The layers, lowest first: a module imports only modules of its own layer or of the
# layers before it. Stated once, for every module of the package (docs/architecture.md).
LAYERS = (
    ("slo_compiler", "slo_compiler.base", "slo_compiler.diagnostics"),
    ("slo_compiler.source",),
    ("slo_compiler.rules",),
    ("slo_compiler.emit",),
    ("slo_compiler.targets",),
    ("slo_compiler.write",),
    ("slo_compiler.compiler",),
    ("slo_compiler.importers",),
    ("slo_compiler.live",),
    ("slo_compiler.cli",),
    ("slo_compiler.entry", "slo_compiler.__main__"),
)


def layer(module: str) -> int:
    """The index of the layer `module` belongs to: its longest matching prefix."""
    found = [
        (len(prefix), i)
        for i, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(found)[1]


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
    return found


def offences(root: Path = ROOT) -> list[str]:
    """Every import of the package that points up the layers."""
    out = []
    for path in sorted((root / "slo_compiler").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        mine = layer(module)
        for line, target in _imports(path, root):
            if target.split(".")[0] == "slo_compiler" and layer(target) > mine:
                out.append(f"{path.relative_to(root)}:{line}: imports {target}")
    return out


def test_every_module_imports_only_its_layer_and_those_below() -> None:
    assert offences() == []


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        assert layer(module) >= 0, module


def test_the_layering_test_sees_an_offence(tmp_path: Path) -> None:
    """The check itself, on a package of one module: a rules module importing the writer."""
    probe = tmp_path / "slo_compiler/rules/probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from __future__ import annotations\n\nfrom ..write import files\n")
    assert offences(tmp_path) == ["slo_compiler/rules/probe.py:3: imports slo_compiler.write"]


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
    "slo_compiler.cli.exits",
    "slo_compiler.cli.verbosity",
    "slo_compiler.diagnostics",
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
    for name, (_, _, short, _) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(limit=200) == short
