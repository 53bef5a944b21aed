"""The three ways the README gives a repository of SLO files to run slo-compiler in CI, each
pinned to a commit, tried against a git repository made of this checkout (file:// URL):
pip's git URL, the composite GitHub Action (action.yml, its steps run as the runner runs
them) and the pre-commit hook. Nothing reaches an index: the dependencies come from this
environment (offline_env), the project is built from the pinned commit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, offline_env, offline_venv, require_tool, run

pytestmark = pytest.mark.xdist_group("install")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A git repository holding this checkout's files as they are now (tracked or new, not
    ignored) in one commit: (file:// URL, commit)."""
    repo = tmp_path_factory.mktemp("published")
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "published"]):
        subprocess.run(["git", *command], cwd=repo, check=True)
    commit = run("git", "rev-parse", "HEAD", cwd=repo).stdout.strip()
    # file://localhost/: the host part older pips need to parse a URL requirement
    return f"file://localhost{repo}", commit


def _slo_repository(folder: Path) -> Path:
    """A repository of SLO files as a team has it: slos/, the config, generated/."""
    for name in ("slos", "generated"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy(ROOT / "slo-compiler.yaml", folder)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-qm", "slos"]):
        subprocess.run(["git", *command], cwd=folder, check=True)
    return folder


def _stale(repository: Path) -> None:
    source = repository / "slos/payment-service.yaml"
    source.write_text(source.read_text().replace("objective: 99.5", "objective: 99.6"))


def _borrowed() -> dict[str, str]:
    """An environment where pip installs the project alone and Python finds the
    dependencies in this environment."""
    return {
        **offline_env(),
        "PIP_NO_DEPS": "1",
        "PYTHONPATH": sysconfig.get_path("purelib"),
        "CI": "true",
    }


def test_pip_installs_a_pinned_commit_from_git(published: tuple[str, str], tmp_path: Path) -> None:
    url, commit = published
    venv = offline_venv(tmp_path / "venv", None)
    done = subprocess.run(
        [venv / "bin/pip", "install", "-q", "--no-deps", f"slo-compiler @ git+{url}@{commit}"],
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    repository = _slo_repository(tmp_path / "team")
    check = subprocess.run(
        [venv / "bin/slo-compiler", "check", "--strict"],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (check.returncode, check.stdout) == (0, "generated/ is up to date (62 files).\n")


def _action_step(step: dict, expressions: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """A composite step's script, env and folder with the runner's expressions filled in;
    an expression this test does not know fails it (the runner would know it)."""

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            assert match[1] in expressions, f"unknown expression {match[0]}"
            return expressions[match[1]]

        return re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", one, text)

    env = {name: fill(str(value)) for name, value in step.get("env", {}).items()}
    return step["run"], env, fill(step.get("working-directory", "."))


def _run_action(action_path: Path, repository: Path, runner: Path, command: str) -> int:
    action = yaml.safe_load((action_path / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs["command"] = command
    inputs["python"] = shutil.which("python3") or "python3"
    expressions = {
        "github.action_path": str(action_path),
        "runner.temp": str(runner),
        **{f"inputs.{name}": value for name, value in inputs.items()},
    }
    files = {"GITHUB_PATH": runner / "path", "GITHUB_OUTPUT": runner / "output"}
    for step in action["runs"]["steps"]:
        assert step["shell"] == "bash" and "run" in step, step
        script, env, folder = _action_step(step, expressions)
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=repository / folder,
            env={**_borrowed(), **{k: str(v) for k, v in files.items()}, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            return done.returncode
    return 0


def test_the_github_action_installs_its_commit_and_fails_on_drift(
    published: tuple[str, str], tmp_path: Path
) -> None:
    url, commit = published
    action_path = tmp_path / "action"  # what the runner checks out for `uses: ...@commit`
    subprocess.run(["git", "clone", "-q", url, str(action_path)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=action_path, check=True)
    repository = _slo_repository(tmp_path / "team")
    runner = tmp_path / "runner"
    runner.mkdir()
    assert _run_action(action_path, repository, runner, "check --strict") == 0
    assert (runner / "output").read_text() == "version=0.1.0\n"
    # Quotes group words (issue 38: a Grafana alert title has a space), and `$(...)` or
    # `;` in the input is text, never run.
    assert (
        _run_action(action_path, repository, runner, "explain 'PaymentFailureBudgetBurn 1h'") == 0
    )
    assert _run_action(action_path, repository, runner, "explain '$(touch pwned)'; touch x") == 2
    assert not (repository / "pwned").exists() and not (repository / "x").exists()
    assert (runner / "path").read_text().strip().endswith("slo-compiler-venv/bin")
    _stale(repository)
    assert _run_action(action_path, repository, runner, "check --strict") == 1


def test_the_pre_commit_hook_pinned_by_commit(published: tuple[str, str], tmp_path: Path) -> None:
    url, commit = published
    repository = _slo_repository(tmp_path / "team")
    (repository / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {url}\n    rev: {commit}\n    hooks:\n      - id: slo-compiler-check\n"
    )
    pre_commit = require_tool("pre-commit")
    env = {**_borrowed(), "PRE_COMMIT_HOME": str(tmp_path / "cache")}

    def hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [pre_commit, "run", "--all-files"],
            cwd=repository,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    clean = hook()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "slo-compiler check" in clean.stdout and "Passed" in clean.stdout
    _stale(repository)
    stale = hook()
    assert stale.returncode == 1
    assert "generated/ is out of date" in stale.stdout
