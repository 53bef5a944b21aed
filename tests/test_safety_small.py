"""Issue 23 item 8: the smaller holes, each reproduced on main before its fix: tracebacks
on output paths that cannot be written, a 5,000-digit duration sending the user to
`sys.set_int_max_str_digits()`, and explain printing 28 digits of a rounded number."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import cli, errors_of, sloth_spec

from slo_compiler.rules.explain import _shown


def _sloth_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yml"
    spec.write_text(sloth_spec())
    return spec


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("afile", "'afile' exists and is not a folder"),
        ("afile/sub", "'afile' exists and is not a folder"),
        ("", "'' is not a folder name"),
    ],
)
def test_import_out_that_is_no_folder_is_a_usage_error(
    tmp_path: Path, out: str, message: str
) -> None:
    (tmp_path / "afile").write_text("mine\n")
    spec = _sloth_spec(tmp_path)
    result = cli("import", "sloth", str(spec), "--out", out, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Invalid value for --out: {message}" in result.stderr
    assert (tmp_path / "afile").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "spec.yml"]


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("nodir/x.js", (), "folder 'nodir' does not exist"),
        ("DIR", ("--force",), "'DIR' is not a file name"),
        ("", (), "'' is not a file name"),
    ],
)
def test_thresholds_out_that_is_no_file_is_a_usage_error(
    repo: Path, out: str, extra: tuple[str, ...], message: str
) -> None:
    (repo / "DIR").mkdir()
    result = cli("loadtest", "thresholds", "--tool", "k6", "--out", out, *extra, cwd=repo)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"Invalid value for --out: {message}" in result.stderr
    assert list((repo / "DIR").iterdir()) == []


def test_a_write_the_system_refuses_is_one_line(repo: Path, tmp_path: Path) -> None:
    """/proc/sys takes no new files, even from root."""
    result = cli("loadtest", "thresholds", "--tool", "k6", "--out", "/proc/sys/x.js", cwd=repo)
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[-1] == "/proc/sys/x.js: cannot write: No such file or directory"
    )
    spec = _sloth_spec(tmp_path)
    imported = cli("import", "sloth", str(spec), "--out", "/proc/sys/new", cwd=tmp_path)
    assert imported.returncode == 1
    assert "Traceback" not in imported.stderr
    assert imported.stderr.splitlines()[-1].startswith("/proc/sys/new: cannot write: ")


def test_a_duration_of_thousands_of_digits_is_out_of_range_not_a_python_limit() -> None:
    text = (
        "apiVersion: slo-compiler/v1\nservice: s\nslos:\n  - name: a\n    objective: 99.9\n"
        f"    period: {'9' * 5000}d\n    sli:\n      ratio:\n"
        '        errors: x_total{code="5"}\n        total: x_total\n'
    )
    (problem,) = errors_of(text)
    assert (problem.line, problem.code.value) == (6, "V002")
    assert "set_int_max_str_digits" not in problem.message
    assert problem.message == (
        "'99999999999999999999...9999999d' is longer than Prometheus accepts (about 292 years)"
    )


def test_explain_rounds_what_people_read() -> None:
    assert _shown(Decimal(15) / Decimal(7)) == "~2.14286"
    assert _shown(Decimal("14.4")) == "14.4"
    assert _shown(Decimal("0.072")) == "0.072"
    assert _shown(Decimal("99.95")) == "99.95"
    assert _shown(Decimal(0)) == "0"
