"""`slo-compiler init [DIR]`: a team's own SLO repository, ready to commit: example SLOs
of each kind, the config, the CI workflow and pre-commit hook pinned to this very
slo-compiler, a README, the schemas and generated/ compiled from them, so that `check`
and the CI pass from the first commit (cli/starter.py holds the files).

Nothing is replaced: a folder that is not empty is refused unless --force, and then only
the files that are missing are written."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
from pathlib import Path

import click

from ..write.files import write_file
from ..write.schemas import schema_files
from . import starter
from .common import force_option
from .compiling import compile_into
from .verbosity import note, say


def _git(folder: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", folder, *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def pin() -> starter.Pin:
    """Where this slo-compiler was installed from (pip's direct_url.json): a git URL and
    commit; or, for a checkout installed as it is, that checkout's commit and remote (its
    own path when it has none). Unknown for a copy that says nothing of its origin."""
    try:
        text = importlib.metadata.distribution("slo-compiler").read_text("direct_url.json")
        origin = json.loads(text or "null")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return starter.Pin()
    if not isinstance(origin, dict) or not isinstance(origin.get("url"), str):
        return starter.Pin()
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("commit_id"), str):
        return starter.Pin(origin["url"], vcs["commit_id"])
    if not origin["url"].startswith("file://"):
        return starter.Pin()
    path = origin["url"].removeprefix("file://")
    commit = _git(path, "rev-parse", "HEAD")
    # A local clone's URL as pip reads it (its bundled 23.2 refuses git+file:///...).
    remote = _git(path, "remote", "get-url", "origin") or f"file://localhost{path}"
    return starter.Pin(remote, commit)


@click.command()
@click.argument("folder", metavar="[DIR]", default=".")
@force_option("no file: add the missing ones to a folder that is not empty")
def init(folder: str, force: bool) -> None:
    """Start a team's SLO repository in DIR (default: here): example SLOs of each kind,
    the config, a CI workflow and pre-commit hook pinned to this slo-compiler, a README,
    and generated/ compiled from them. A folder that is not empty is refused unless
    --force, and no file that exists is replaced."""
    where = Path(folder)
    if where.exists() and not where.is_dir():
        raise click.BadParameter(f"{folder!r} is not a folder", param_hint="DIR")
    if where.is_dir() and any(where.iterdir()) and not force:
        raise click.UsageError(
            f"{folder} is not empty: --force adds the files it lacks (none is replaced)"
        )
    found = pin()
    files = {
        **{p: t.encode() for p, t in starter.files(found).items()},
        **{f"schemas/{name}": data for name, data in schema_files().items()},
    }
    written = []
    for name, data in files.items():
        path = where / name
        if path.exists() or path.is_symlink():
            note(f"kept {path} (it exists)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data)
        written.append(name)
    say(f"wrote {len(written)} files in {folder}: {', '.join(written) or 'none'}")
    if not found.known:
        note(
            "note: where this slo-compiler comes from is unknown: replace REPO and COMMIT in "
            ".github/workflows/slo.yaml, .pre-commit-config.yaml and README.md"
        )
    # Compiled from inside the repository, as every later compile is: the generated
    # files name their sources relative to it.
    here = os.getcwd()
    os.chdir(where)
    try:
        compile_into("slos", None, "generated", (), None)
    finally:
        os.chdir(here)
    say(f"next: cd {folder}, edit slos/example-service.yaml, slo-compiler compile, git commit")
