"""The suite checks itself: every test asserts something (issue 36: a test that asserted
nothing passed whatever the code did). A test asserts when its body, or a function of the
suite it calls (at any depth), holds an `assert`, `pytest.raises` or `pytest.fail`."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

TESTS = ROOT / "tests"


def _checks(node: ast.AST) -> bool:
    """An assert statement, or pytest.raises / pytest.fail / pytest.skip in a call."""
    for child in ast.walk(node):
        if isinstance(child, ast.Assert):
            return True
        if isinstance(child, ast.Attribute) and child.attr in ("raises", "fail", "warns"):
            return True
    return False


def _called(node: ast.AST) -> set[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Name):
                names.add(func.id)
            elif isinstance(func, ast.Attribute):
                names.add(func.attr)
    return names


def _functions() -> dict[str, list[ast.FunctionDef]]:
    found: dict[str, list[ast.FunctionDef]] = {}
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                found.setdefault(node.name, []).append(node)
    return found


def test_every_test_asserts_something() -> None:
    functions = _functions()
    asserting = {name for name, defs in functions.items() if any(_checks(d) for d in defs)}
    grew = True
    while grew:  # a function that calls an asserting one asserts too
        grew = False
        for name, defs in functions.items():
            if name not in asserting and any(_called(d) & asserting for d in defs):
                asserting.add(name)
                grew = True
    silent = sorted(
        name for name in functions if name.startswith("test_") and name not in asserting
    )
    assert silent == []


def test_the_check_finds_a_test_without_an_assertion(tmp_path: Path) -> None:
    tree = ast.parse("def test_nothing():\n    compile_texts('x')\n")
    [test] = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert not _checks(test) and _called(test) == {"compile_texts"}
