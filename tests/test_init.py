"""Issue 38: `slo-compiler init`, a team's own SLO repository from zero that passes `check`
and the steps of its own CI workflow at once, replacing nothing it finds."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import cli, run

from slo_compiler.cli import starter


def test_init_starts_a_repository_that_passes_check_and_its_ci(
    tmp_path: Path, promtool: str
) -> None:
    done = cli("init", "team", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    team = tmp_path / "team"
    for name in (
        "slos/example-service.yaml",
        "slo-compiler.yaml",
        ".github/workflows/slo.yaml",
        ".pre-commit-config.yaml",
        ".gitignore",
        "README.md",
        "schemas/slo.schema.json",
        "generated/README.md",
    ):
        assert (team / name).is_file(), name
    example = (team / "slos/example-service.yaml").read_text()
    assert example.startswith("# yaml-language-server: $schema=../schemas/slo.schema.json")
    kinds = yaml.safe_load(example)["slos"]
    assert [next(iter(s["sli"])) for s in kinds] == ["ratio", "latency", "raw"]
    # What the workflow runs, run here: the drift check and promtool on rules and tests.
    steps = yaml.safe_load((team / ".github/workflows/slo.yaml").read_text())["jobs"]["slo"]
    said = " ".join(str(s.get("run", s.get("uses"))) for s in steps["steps"])
    assert "check --strict" in said or "slo-compiler@" in said
    assert cli("check", "--strict", cwd=team).returncode == 0
    rules = sorted(str(p) for p in (team / "generated/prometheus").glob("*.rules.yaml"))
    assert len(rules) == 3 and "promtool check rules generated/prometheus/*.rules.yaml" in said
    assert run(promtool, "check", "rules", *rules).returncode == 0
    tests = team / "generated/prometheus/tests"
    names = sorted(p.name for p in tests.glob("*.test.yaml"))
    proved = run(promtool, "test", "rules", *names, cwd=tests)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    hooks = yaml.safe_load((team / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["hooks"] == [{"id": "slo-compiler-check"}]


def test_init_refuses_a_folder_that_is_not_empty_and_replaces_nothing(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("ours\n")
    refused = cli("init", cwd=tmp_path)
    assert refused.returncode == 2 and "--force adds the files it lacks" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]
    added = cli("init", "--force", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "README.md").read_text() == "ours\n"
    assert "kept README.md (it exists)" in added.stderr
    assert (tmp_path / "slos/example-service.yaml").is_file()
    file = tmp_path / "file"
    file.write_text("x")
    assert cli("init", "file", cwd=tmp_path).returncode == 2


def test_the_ci_files_pin_the_slo_compiler_that_wrote_them() -> None:
    """On GitHub, the workflow uses the action at the installed commit; elsewhere it
    installs that commit with pip; an unknown origin leaves placeholders to fill."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    github = starter.Pin("https://github.com/acme/slo-compiler.git", commit)
    assert f"      - uses: acme/slo-compiler@{commit}" in starter.workflow(github)
    assert f"rev: {commit}" in starter.pre_commit(github)
    elsewhere = starter.Pin("https://git.example.com/sre/slo-compiler.git", commit)
    pinned = f'"slo-compiler @ git+https://git.example.com/sre/slo-compiler.git@{commit}"'
    assert pinned in starter.workflow(elsewhere)
    assert "Replace REPO" not in starter.workflow(elsewhere)
    unknown = starter.workflow(starter.Pin())
    assert '"slo-compiler @ git+REPO@COMMIT"' in unknown and "Replace REPO" in unknown
