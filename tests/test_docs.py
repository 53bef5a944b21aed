"""Every command line the README and docs/ show runs, in a temporary copy of this checkout,
in the order a reader meets it (issue 27: the README's facts had gone stale).

* a ```` ```sh ```` block runs whole in bash (`set -e`): it must succeed;
* a ```` ```console ```` block is `$ command` lines, each followed by what it prints: the
  command runs and must print exactly that (stdout and stderr together), exit 1 when what
  it prints is an error report, else 0;
* a block a test here cannot run (it needs a live Prometheus, a cluster, a CI runner) is
  preceded by `<!-- docs-test: skip: REASON -->`, and REASON says which test covers it.

The copy gets a `.venv` of its own (the first set-up command's result, made offline: the
packages come from this interpreter's environment and the project is installed from the
copy), so `.venv/bin/...` and `slo-compiler` on PATH run the copy's code as written."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, offline_env, offline_venv, require_tool

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(?P<kind>[\w-]*)\n(?P<body>.*?)^```$", re.S | re.M)
_SKIP = re.compile(r"<!-- docs-test: skip: (?P<why>[^>]+) -->\s*$")
# What a skipped block may need, and where that is tested instead.
SKIP_REASONS = (
    "needs a live Prometheus",
    "needs a Kubernetes cluster",
    "runs in CI",
    "installs from PyPI",
)
# The sections that run a load (a demo of a minute against a real Prometheus), by page:
# they run with the live tests, the rest of the page beside them.
LIVE_SECTIONS = {"README.md": "## The load-test gate, in one command"}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    kind: str  # sh | console
    body: str
    skip: str | None
    section: int  # the page's `## ` sections before it: where a reader's `cd` ends
    heading: str  # the `## ` heading it is under


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in _FENCE.finditer(text):
        if match["kind"] not in ("sh", "console"):
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = _SKIP.search(before)
        line = text[: match.start()].count("\n") + 1
        headings = re.findall(r"^## .*", text[: match.start()], flags=re.M)
        why = skip["why"] if skip else None
        heading = headings[-1] if headings else ""
        found.append(
            Block(page.name, line, match["kind"], match["body"], why, len(headings), heading)
        )
    return found


def _copy(work: Path) -> Path:
    """This checkout as a fresh clone has it (no venv, caches or build output)."""
    ignored = shutil.ignore_patterns(
        ".git",
        ".venv",
        "__pycache__",
        "*.egg-info",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
    )
    shutil.copytree(ROOT, work, ignore=ignored)
    return work


def _environment(work: Path) -> dict[str, str]:
    env = offline_env()
    env.pop("PYTHONPATH", None)
    env.pop("CI", None)  # the reader's machine: check trusts its record as documented
    env["PATH"] = f"{work / '.venv/bin'}:{env['PATH']}"
    env.update(
        GIT_AUTHOR_NAME="docs",
        GIT_AUTHOR_EMAIL="docs@example.invalid",
        GIT_COMMITTER_NAME="docs",
        GIT_COMMITTER_EMAIL="docs@example.invalid",
    )
    return env


def _run(command: str, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -eo pipefail\n{command}"],
        cwd=work,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
    )


def _console(block: Block, work: Path, env: dict[str, str]) -> None:
    steps = re.split(r"^\$ ", block.body, flags=re.M)[1:]
    for step in steps:
        command, _, expected = step.partition("\n")
        done = _run(command, work, env)
        where = f"{block.page}:{block.line}: $ {command}"
        assert done.stdout == expected, f"{where}\n{done.stdout}"
        assert done.returncode == (1 if "error[" in expected else 0), where


def _page_runs(page: Path, tmp_path: Path, live: bool | None = None) -> None:
    """Every block of the page in order, or with `live` only those in (or out of) the
    page's live section."""
    require_tool("promtool")
    work = _copy(tmp_path / "repo")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    offline_venv(work / ".venv", work)
    env = _environment(work)
    ran, here, section = 0, work, 0
    for block in blocks(page):
        in_live = block.heading == LIVE_SECTIONS.get(page.name)
        if block.skip or (live is not None and in_live != live):
            continue
        if block.section != section:  # a new section starts where the page's root is
            here, section = work, block.section
        moved = re.fullmatch(r"cd (\S+)\n", block.body)
        if block.kind == "sh" and moved:  # the reader moves: the section's blocks follow
            here = here / moved[1]
            assert here.is_dir(), f"{page.name}:{block.line}: no folder {here}"
        elif block.kind == "sh":
            done = _run(block.body, here, env)
            assert done.returncode == 0, f"{page.name}:{block.line}\n{done.stdout}"
        else:
            _console(block, here, env)
        ran += 1
    assert ran, f"{page.name}: no block ran"


def _runnable(page: Path) -> bool:
    return any(not b.skip for b in blocks(page))


def _params() -> list[Any]:
    out = []
    for page in (p for p in PAGES if _runnable(p)):
        if page.name in LIVE_SECTIONS:
            out.append(pytest.param(page, False, id=page.name))
            out.append(pytest.param(page, True, id=f"{page.name}-live", marks=[pytest.mark.live]))
        else:
            out.append(pytest.param(page, None, id=page.name))
    return out


@pytest.mark.parametrize(("page", "live"), _params())
def test_every_command_line_of_the_page_runs_as_shown(
    page: Path, live: bool | None, tmp_path: Path
) -> None:
    _page_runs(page, tmp_path, live)


def test_skipped_blocks_say_why_and_what_covers_them() -> None:
    for page in PAGES:
        for block in blocks(page):
            if block.skip:
                assert block.skip.startswith(SKIP_REASONS), (page.name, block.line, block.skip)


def test_the_readme_is_a_front_page() -> None:
    """About 300 lines at most: the reference lives in docs/, and every page it links to
    exists."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    linked = re.findall(r"\]\(((?:docs/)[^)#]+)\)", text)
    assert linked and all((ROOT / link).is_file() for link in linked), linked
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in text, f"README does not lead to docs/{page.name}"
    # Issue 38: what it is comes first (after the two commands), with the Python it needs,
    # a picture, and the CI snippet runs what docs/ci.md runs.
    assert re.findall(r"^## .*", text, flags=re.M)[0] == "## What it is"
    assert "Python 3.11 or newer" in text.split("## What it is")[0]
    assert re.search(r"!\[[^\]]+\]\(docs/[^)]+\.svg\)", text)
    assert "- run: promtool check rules generated/prometheus/*.rules.yaml" in text


def test_every_relative_link_of_the_docs_leads_somewhere() -> None:
    """Issue 38: three links of docs/ were written relative to the repository, not to
    their page, and led nowhere on GitHub. Every relative link (and image) of the README
    and docs/ resolves from its own page."""
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []
