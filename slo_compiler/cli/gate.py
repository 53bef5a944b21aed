"""The commands that talk to a running Prometheus: `verify` (the load-test gate) and
`loadtest run` (a load tool run between two timestamps, then verify over that window).

Exit codes: 0 pass, 1 an SLO violated its gate or an expected alert is missing, 2 usage,
3 inconclusive, 4 Prometheus unreachable or a query failed; the worst wins, in the order
4, 1, 3. `loadtest run` counts a failed load tool (k6's threshold failure is 99) as 1.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import click

from ..base.durations import format_duration
from ..base.interrupts import Interrupted, raise_interrupted
from ..live import environment, verify_formats
from ..live import verify as verify_
from ..live.client import Client, PrometheusUnreachable, QueryFailed
from ..live.queries import Window
from ..live.verify import CLASSES, GATES, Options
from ..live.verify import verify as run_verify
from ..rules.ir import SloPlan
from ..targets import loadtool
from . import exits, supervise, verbosity
from .common import (
    force_option,
    given,
    inputs,
    out_file,
    out_option,
    plans_of,
    read_inputs,
    render,
    slo_arguments,
    write_out,
)
from .prometheus import (
    client,
    duration,
    prometheus_options,
    range_options,
    said,
    span,
)
from .verbosity import note

EXIT = {
    verify_.PASS: exits.OK,
    verify_.VIOLATED: exits.FAILED,
    verify_.INCONCLUSIVE: exits.INCONCLUSIVE,
}
FORMATS = {
    "text": verify_formats.text,
    "junit": verify_formats.junit,
    "markdown": verify_formats.markdown,
}
# A window that ends less than this before now "ends now": wait for the last scrape.
NOW_SLACK = 1.0
# The longest a window that ends now waits for the scrapes after it: Prometheus' lookback,
# past which PromQL cannot read a target's samples anyway.
SETTLE_LIMIT = 300
# How often the settle asks whether the targets have been scraped since.
SETTLE_POLL = 1.0
# How far back `loadtest run` looks for the selected SLOs' metrics before it starts.
PREFLIGHT_LOOKBACK = 24 * 3600
# Seconds a load tool gets to print its summary and stop after a signal.
TOOL_GRACE = 10


@dataclass(frozen=True)
class GateOptions:
    """What `verify` and `loadtest run` share: where to ask and what fails the gate."""

    slo: tuple[str, ...]
    slos: str
    config: str | None
    url: str
    gate: str
    expect_fire: tuple[str, ...]
    min_events: float
    settle: str | None
    headers: tuple[str, ...]
    ca: str | None
    fmt: str
    timeout: str
    allow_gaps: str
    carried_in_fails: bool


_GATE = [
    inputs,
    prometheus_options("2m"),
    click.option(
        "--gate",
        type=click.Choice(GATES),
        default="page",
        show_default=True,
        help="What fails the run: a page tier crossed or firing, any tier, or the objective.",
    ),
    click.option(
        "--expect-fire",
        multiple=True,
        metavar="[SLO:]TIER",
        help="A tier (or page/ticket: one of that class) that must fire: fault-injection runs.",
    ),
    click.option(
        "--min-events",
        type=float,
        default=1,
        show_default=True,
        help="Fewer events is inconclusive.",
    ),
    click.option(
        "--settle",
        metavar="DURATION",
        help="When the window ends now, wait this long first so that its last events are "
        "scraped and evaluated (default: until every target exporting the SLIs has been "
        "scraped since, then a rule evaluation interval).",
    ),
    click.option(
        "--allow-gaps",
        default="0s",
        show_default=True,
        metavar="DURATION",
        help="Accept a stretch of the window without data (a target down, the series "
        "missing) up to this long; a longer one fails the gate.",
    ),
    click.option(
        "--carried-in-fails",
        is_flag=True,
        help="Judge alerts already pending or firing at the window's start (carried in "
        "from before it) as the window's own.",
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json", "junit", "markdown"]),
        default="text",
        show_default=True,
        help="text, JSON (schemas/verify-report.schema.json), JUnit XML, or Markdown.",
    ),
]


def gate_options(command: Any) -> Any:
    """The options of every gate command; the command builds GateOptions from them."""
    for option in reversed(_GATE):
        command = option(command)
    return command


@dataclass(frozen=True)
class Selected:
    """The compiled SLOs a gate command checks, and the config's evaluation facts."""

    plans: list[SloPlan]
    interval: int
    alerts_in_prometheus: bool


def select(opts: GateOptions) -> Selected:
    """Compile the inputs (exit 1 on bad ones) and pick the SLOs the command names; an
    --expect-fire that names no tier or class of them is a usage error."""
    result, plans = plans_of(read_inputs(opts.slos, opts.config), opts.slo)
    known = {t.name for p in plans for t in p.tiers} | set(CLASSES)
    for wanted in opts.expect_fire:
        what = wanted.rsplit(":", 1)[-1]
        if what not in known:
            raise click.BadParameter(
                f"'{what}' is no tier of the selected SLOs nor page/ticket "
                f"(tiers: {', '.join(sorted(known - set(CLASSES)))})",
                param_hint="--expect-fire",
            )
    return Selected(plans, result.config.rule_interval, result.config.prometheus_alerts)


def gate(opts: GateOptions, selected: Selected, begin: float, finish: float) -> int:
    """Verify the selected SLOs over [begin, finish], print the report; the exit code."""
    expected = tuple(
        (w.rsplit(":", 1)[0], w.rsplit(":", 1)[1]) if ":" in w else (None, w)
        for w in opts.expect_fire
    )
    until = None

    def connect() -> Client:
        return client(opts.url, opts.headers, opts.ca, opts.timeout)

    try:
        if time.time() - finish < NOW_SLACK:
            until = settle(connect, opts, selected, finish)
        prometheus = connect()  # --timeout counts from here, not from the wait
        options = Options(
            Window(begin, finish, selected.interval),
            opts.gate,
            opts.min_events,
            expected,
            selected.alerts_in_prometheus,
            duration(opts.allow_gaps, "--allow-gaps"),
            opts.carried_in_fails,
            until,
            time.time(),
        )
        report = run_verify(prometheus, selected.plans, options)
        said(prometheus)
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler verify: {err}", err=True)
        return exits.UNREACHABLE
    click.echo(render(report, opts.fmt, FORMATS), nl=False)
    return EXIT[report.status]


def settle(
    connect: Callable[[], Client], opts: GateOptions, selected: Selected, finish: float
) -> float | None:
    """Wait until a window that ends now can be read: --settle as given, else until every
    target exporting the SLIs has been scraped since its end (at a 2m scrape a minute's
    load test may exist only in the scrape after it; at 1s this is a second), then, where
    the compiled rules are loaded, a rule evaluation interval for the deployed alerts.
    The time the scrapes were there, for verify to read the events at; None where
    --settle decided. Each question gets a client of its own: --timeout bounds a
    question, not the wait."""
    connect().query("vector(1)", time.time())  # an unreachable server fails before the wait
    if opts.settle:
        wait = duration(opts.settle, "--settle")
        if wait:
            note(f"settling {format_duration(wait)} for the last scrape...")
            time.sleep(wait)
        return None
    note("settling: waiting for a scrape of each target after the load...")
    deadline = finish + SETTLE_LIMIT
    while not environment.scraped_since(connect(), selected.plans, finish, time.time()):
        if time.time() >= deadline:
            click.echo(
                f"note: some targets were not scraped within {format_duration(SETTLE_LIMIT)} "
                "of the load's end: their last events may be missing",
                err=True,
            )
            break
        time.sleep(SETTLE_POLL)
    until = time.time()
    waited = format_duration(max(1, round(until - finish)))
    if environment.rules_loaded(connect(), selected.plans, until):
        note(
            f"scraped {waited} after the load; waiting "
            f"{format_duration(selected.interval)} for the rules to evaluate..."
        )
        time.sleep(selected.interval)
    else:
        note(f"scraped {waited} after the load")
    return until


def preflight(opts: GateOptions, selected: Selected) -> int:
    """Before a load test: Prometheus answers (else 4), so that a long load test is not
    wasted on a gate that cannot reach its server. A metric without series is a note,
    not a refusal: an app deployed a minute ago creates its request counters on its
    first request (Micrometer, prometheus_client), which is the load test itself; the
    verdict after the load says inconclusive (3) if the metric never appeared, with the
    known names closest to it."""
    now = time.time()
    try:
        prometheus = client(opts.url, opts.headers, opts.ca, opts.timeout)
        prometheus.query("vector(1)", now)
        window = Window(now - PREFLIGHT_LOOKBACK, now, 1)
        notes = [
            f"{plan.service}/{plan.name}: {reason}"
            for plan in selected.plans
            for reason in environment.missing(prometheus, plan, window)
        ]
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler loadtest run: {err}; the load test was not started", err=True)
        return exits.UNREACHABLE
    for missing in notes:
        note(
            f"note: {missing} in the last {format_duration(PREFLIGHT_LOOKBACK)}; starting "
            "anyway (an app creates its series on its first requests): the verdict is "
            "inconclusive if they do not appear"
        )
    return 0


@click.command()
@slo_arguments
@gate_options
@range_options("Window", "20m")
def verify(start: str | None, end: str | None, last: str | None, **gate_: Any) -> None:
    """Check the SLOs in a live Prometheus over a window (a load test): that the SLI was
    seen through it (a target down or a gap fails), events and SLI, which burn-rate tiers
    the window crossed, a replay of each tier's alert with its `for` (alerts carried in
    from before the window reported apart), and what the deployed alerts did. Exit 0
    pass, 1 violated, 3 inconclusive (no data), 4 Prometheus unreachable, an answer that
    is no answer, or --timeout spent.
    """
    opts = GateOptions(**gate_)
    selected = select(opts)
    begin, finish = span(start, end, last, selected.interval)
    sys.exit(gate(opts, selected, begin, finish))


@click.group()
def loadtest() -> None:
    """Run a load test and gate it on the SLOs."""


@loadtest.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("--slo", multiple=True, metavar="SLO", help="Only these SLOs.")
@gate_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: tuple[str, ...], **gate_: Any) -> None:
    """Run COMMAND (after `--`: `k6 run script.js`, `locust --headless ...`), then verify
    the SLOs over the time it ran, and exit with the worse of the two results: a load
    tool's own failure (k6 exits 99 on a failed threshold) counts as a failed gate.

    \b
    slo-compiler loadtest run --prometheus http://localhost:9090 -- k6 run load.js
    """
    opts = GateOptions(**gate_)
    selected = select(opts)
    refused = preflight(opts, selected)
    if refused:
        sys.exit(refused)
    begin = time.time()
    tool = run_tool(command)
    finish = time.time()
    if tool != 0:
        click.echo(f"load tool: {command[0]} exited {tool}", err=True)
    verdict = gate(opts, selected, begin, finish)
    sys.exit(exits.worst(verdict, exits.FAILED if tool != 0 else 0))


def run_tool(command: tuple[str, ...]) -> int:
    """Run the load tool in a process group (and PID namespace) of its own, dying with
    this run (supervise.py); its exit code. A signal to us (Ctrl-C, CI's SIGTERM, a
    closed terminal's SIGHUP) is passed to the whole group, which gets TOOL_GRACE seconds
    to print its summary and stop before it is killed; then the signal ends this run."""
    if not supervise.contained():
        click.echo(
            "note: no PID namespace here: the load tool's descendants that leave its "
            "session are killed when it ends, but not if this run is killed with SIGKILL",
            err=True,
        )
    signal.signal(signal.SIGHUP, raise_interrupted)
    if shutil.which(command[0]) is None:  # unshare would run it, and say so only as 127
        raise click.UsageError(f"cannot run {command[0]}: not found, or not executable")
    try:
        process = supervise.start(list(command))
    except OSError as err:
        raise click.UsageError(f"cannot run {command[0]}: {err.strerror}") from None
    try:
        return process.wait()
    except Interrupted as stop:
        _stop_group(process, stop.signum)
        raise
    finally:
        supervise.reap()


def _stop_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """`signum` to the tool's group, a grace period, then SIGKILL to whatever is left of
    it (a tool's children too). A second signal during the grace kills at once."""
    group = process.pid  # the leader of its own session: its pid is the group's id
    with suppress(ProcessLookupError):
        os.killpg(group, signum)
    with suppress(subprocess.TimeoutExpired, Interrupted):
        process.wait(timeout=TOOL_GRACE)
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()


@loadtest.command("thresholds")
@inputs
@slo_arguments
@click.option("--tool", type=click.Choice(["k6", "locust"]), required=True, help="The load tool.")
@out_option("Write here (atomically) instead of stdout.", out_file, metavar="FILE")
@force_option("a --out file this command did not write")
def thresholds(
    slos: str, config: str | None, slo: tuple[str, ...], tool: str, out: str | None, force: bool
) -> None:
    """Client-side thresholds from the SLOs, for the load tool to fail fast while `verify`
    keeps the last word: a module the k6 script imports (its options' thresholds, and the
    expected statuses per request name), or a module the locustfile imports that sets the
    exit code at quit. Which requests belong to
    an SLO comes from its `loadtest` block, or the uri, method and status matchers of a
    ratio SLI; an SLO with neither is named on stderr and left out."""
    read = read_inputs(slos, config)
    _, plans = plans_of(read, slo)
    items, errors = [], []
    for plan in plans:
        try:
            found = loadtool.client_threshold(plan)
        except loadtool.NoStatus as err:
            errors.append(str(err))
            continue
        if isinstance(found, str):
            note(f"skipped: {found}")
        else:
            items.append(found)
    if errors:
        for error in errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"{len(errors)} error{'s' * (len(errors) != 1)}; nothing was written.", err=True)
        sys.exit(exits.FAILED)
    flags = given("slos", "config", "out")
    again = shlex.join(["slo-compiler", "loadtest", "thresholds", "--tool", tool, *flags, *slo])
    if tool == "k6":
        text, skipped = loadtool.k6_text(items, ", ".join(s.path for s in read.sources), again)
        for skipped_note in skipped:
            note(f"skipped: {skipped_note}")
    else:
        text = loadtool.locust_module(items, ", ".join(s.path for s in read.sources), again)
    if out is None:
        click.echo(text, nl=False)
        return
    mine = functools.partial(loadtool.ours, tool)
    write_out(out, text.encode("utf-8"), force, mine, f"a {tool} thresholds file")


# Writes a module and asks no server: -v has nothing to add there.
thresholds.verbose_help = verbosity.NOTHING  # type: ignore[attr-defined]
