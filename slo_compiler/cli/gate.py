"""The commands that talk to a running Prometheus: `verify` (the load-test gate) and
`loadtest run` (a load tool run between two timestamps, then verify over that window).

Exit codes: 0 pass, 1 an SLO violated its gate or an expected alert is missing, 2 usage,
3 inconclusive, 4 Prometheus unreachable or a query failed; the worst wins, in the order
4, 1, 3. `loadtest run` counts a failed load tool (k6's threshold failure is 99) as 1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import click

from ..live import loadtool, timespec
from ..live import verify as verify_
from ..live import verify_formats as report_formats
from ..live.client import Client, PrometheusUnreachable, QueryFailed
from ..live.queries import Window
from ..live.verify import CLASSES, GATES, Options, Report
from ..live.verify import verify as run_verify
from ..rules.durations import format_duration, parse_duration
from ..rules.ir import SloPlan
from ..rules.sli import EventSli
from ..write.files import Interrupted, write_file
from . import cli, compile_inputs, inputs, read_inputs, select_slos

FAILED_EXIT, INCONCLUSIVE_EXIT, UNREACHABLE_EXIT = 1, 3, 4
EXIT = {verify_.PASS: 0, verify_.VIOLATED: FAILED_EXIT, verify_.INCONCLUSIVE: INCONCLUSIVE_EXIT}
# A window that ends less than this before now "ends now": wait for the last scrape.
NOW_SLACK = 1.0
# The scrape interval assumed for --settle's default when no SLO is selected.
SCRAPE_INTERVAL = 15
# How far back `loadtest run` looks for the selected SLOs' metrics before it starts.
PREFLIGHT_LOOKBACK = 24 * 3600
# Seconds a load tool gets to print its summary and stop after a signal.
TOOL_GRACE = 10


def worst(*codes: int) -> int:
    """The exit code that wins: 4 (no answer) over 1 (failed) over 3 (no data) over 0."""
    for code in (UNREACHABLE_EXIT, FAILED_EXIT, INCONCLUSIVE_EXIT):
        if code in codes:
            return code
    return max(codes, default=0)


def headers_from_env(values: tuple[str, ...]) -> dict[str, str]:
    """--header NAME=$ENV: the value comes from the environment, never the command line."""
    out = {}
    for value in values:
        name, _, ref = value.partition("=")
        if not name or not ref.startswith("$") or ref[1:] not in os.environ:
            raise click.BadParameter(
                f"'{name or value}': write NAME=$VARIABLE with VARIABLE set in the environment",
                param_hint="--header",
            )
        out[name] = os.environ[ref[1:]]
    return out


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


def gate_options(positional_slos: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of every gate command, collected into one GateOptions `opts`. SLOs are
    named as arguments, or with --slo where the arguments are a command to run."""
    select = (
        click.argument("slo", nargs=-1)
        if positional_slos
        else click.option("--slo", multiple=True, metavar="SLO", help="Only these SLOs.")
    )
    options = [
        select,
        inputs,
        click.option(
            "--prometheus", "url", required=True, metavar="URL", help="Prometheus' base URL."
        ),
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
            help="A tier (or page/ticket) that must fire: fault-injection runs.",
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
            "scraped and evaluated (default: the selected SLOs' longest scrape interval and "
            "the rule evaluation interval).",
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
        timeout_option("2m"),
        click.option(
            "--header",
            "headers",
            multiple=True,
            metavar="NAME=$ENV",
            help="An HTTP header whose value is read from the environment.",
        ),
        click.option(
            "--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle for HTTPS."
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

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        def wrapper(**kwargs: object) -> None:
            names = GateOptions.__dataclass_fields__
            values = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            command(opts=GateOptions(**values), **kwargs)  # type: ignore[arg-type]

        wrapper.__name__ = command.__name__
        wrapper.__doc__ = command.__doc__
        # The command's own options, declared below this decorator, come first.
        wrapper.__click_params__ = list(getattr(command, "__click_params__", []))  # type: ignore[attr-defined]
        for option in reversed(options):
            wrapper = option(wrapper)  # type: ignore[assignment]
        return wrapper

    return decorate


@dataclass(frozen=True)
class Selected:
    """The compiled SLOs a gate command checks, and the config's evaluation facts."""

    plans: list[SloPlan]
    interval: int
    alerts_in_prometheus: bool


def select(opts: GateOptions) -> Selected:
    """Compile the inputs (exit 1 on bad ones) and pick the SLOs the command names; an
    --expect-fire that names no tier or class of them is a usage error."""
    result = compile_inputs(read_inputs(opts.slos, opts.config), ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    if opts.slo:
        plans = select_slos(plans, opts.slo)
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


def client(url: str, headers: tuple[str, ...], ca: str | None, timeout: str) -> Client:
    """The command's Prometheus client: its deadline starts now."""
    seconds = _duration(timeout, "--timeout")
    return Client(url, headers=headers_from_env(headers), ca_bundle=ca, timeout=seconds)


def gate(opts: GateOptions, selected: Selected, begin: float, finish: float) -> int:
    """Verify the selected SLOs over [begin, finish], print the report; the exit code."""
    scrape = max((p.scrape_interval for p in selected.plans), default=SCRAPE_INTERVAL)
    settle = _duration(opts.settle, "--settle") if opts.settle else scrape + selected.interval
    expected = tuple(
        (w.rsplit(":", 1)[0], w.rsplit(":", 1)[1]) if ":" in w else (None, w)
        for w in opts.expect_fire
    )
    options = Options(
        Window(begin, finish, selected.interval),
        opts.gate,
        opts.min_events,
        expected,
        selected.alerts_in_prometheus,
        _duration(opts.allow_gaps, "--allow-gaps"),
        opts.carried_in_fails,
    )
    try:
        if time.time() - finish < NOW_SLACK and settle:
            # An unreachable server fails before the wait.
            client(opts.url, opts.headers, opts.ca, opts.timeout).query("vector(1)", time.time())
            click.echo(f"settling {format_duration(settle)} for the last scrape...", err=True)
            time.sleep(settle)
        prometheus = client(opts.url, opts.headers, opts.ca, opts.timeout)
        report = run_verify(prometheus, selected.plans, options)
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler verify: {err}", err=True)
        return UNREACHABLE_EXIT
    click.echo(_render(report, opts.fmt), nl=False)
    return EXIT[report.status]


def preflight(opts: GateOptions, selected: Selected) -> int:
    """Before a load test: Prometheus answers (else 4) and knows every selected SLO's
    metrics (else 3), so that a long load test is not wasted on a gate that cannot judge
    it. A selector without series yet, whose metric exists, is only a note: an app
    creates a request's series on its first request."""
    now = time.time()
    try:
        prometheus = client(opts.url, opts.headers, opts.ca, opts.timeout)
        prometheus.query("vector(1)", now)
        unknown = []
        for plan in selected.plans:
            if not isinstance(plan.query, EventSli):
                continue
            for selector in (s for s in (plan.query.total, plan.query.good) if s):
                since = now - PREFLIGHT_LOOKBACK
                if prometheus.metric_names(selector.render(), since, now):
                    continue
                metric = f'{{__name__="{selector.metric}"}}'
                if prometheus.metric_names(metric, since, now):
                    click.echo(
                        f"note: no series of {selector.render()} yet: its first requests "
                        "create them",
                        err=True,
                    )
                else:
                    unknown.append(f"{plan.service}/{plan.name}: no series of {selector.metric}")
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler loadtest run: {err}; the load test was not started", err=True)
        return UNREACHABLE_EXIT
    for problem in unknown:
        click.echo(
            f"slo-compiler loadtest run: {problem} in Prometheus in the last "
            f"{format_duration(PREFLIGHT_LOOKBACK)} (a misspelt metric, or a service not "
            "scraped?); the load test was not started",
            err=True,
        )
    return INCONCLUSIVE_EXIT if unknown else 0


def _duration(text: str, option: str) -> int:
    if text.strip() in ("0", "0s"):
        return 0
    try:
        return parse_duration(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


def timeout_option(default: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return click.option(
        "--timeout",
        default=default,
        show_default=True,
        metavar="DURATION",
        help="Every query to Prometheus together must be answered within this; past it "
        "the command exits 4.",
    )


def _render(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.document(), indent=2) + "\n"
    render = {
        "text": report_formats.text,
        "junit": report_formats.junit,
        "markdown": report_formats.markdown,
    }
    return render[fmt](report)


@cli.command()
@gate_options(positional_slos=True)
@click.option(
    "--from", "start", metavar="TIME", help="Window start: RFC 3339, unix seconds, now-20m."
)
@click.option("--to", "end", metavar="TIME", help="Window end (default now).")
@click.option("--last", metavar="DURATION", help="The window ending now, e.g. 20m.")
def verify(opts: GateOptions, start: str | None, end: str | None, last: str | None) -> None:
    """Check the SLOs in a live Prometheus over a window (a load test): events and SLI,
    which burn-rate tiers the window crossed, a replay of each tier's alert with its `for`,
    and what the deployed alerts did. Exit 0 pass, 1 violated, 3 inconclusive (no data),
    4 Prometheus unreachable or a query failed.
    """
    try:
        begin, finish = timespec.window(start, end, last, time.time())
    except (timespec.TimeSpecError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    sys.exit(gate(opts, select(opts), begin, finish))


@cli.group()
def loadtest() -> None:
    """Run a load test and gate it on the SLOs."""


@loadtest.command(
    "run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@gate_options(positional_slos=False)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(opts: GateOptions, command: tuple[str, ...]) -> None:
    """Run COMMAND (after `--`: `k6 run script.js`, `locust --headless ...`), then verify
    the SLOs over the time it ran, and exit with the worse of the two results: a load
    tool's own failure (k6 exits 99 on a failed threshold) counts as a failed gate.

    \b
    slo-compiler loadtest run --prometheus http://localhost:9090 -- k6 run load.js
    """
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
    sys.exit(worst(verdict, FAILED_EXIT if tool != 0 else 0))


def run_tool(command: tuple[str, ...]) -> int:
    """Run the load tool in a process group of its own; its exit code. A signal to us
    (Ctrl-C, CI's SIGTERM) is passed to the whole group, which gets TOOL_GRACE seconds to
    print its summary and stop before it is killed; then the signal ends this run."""
    try:
        process = subprocess.Popen(list(command), start_new_session=True)
    except OSError as err:
        raise click.UsageError(f"cannot run {command[0]}: {err.strerror}") from None
    try:
        return process.wait()
    except Interrupted as stop:
        _stop_group(process, stop.signum)
        raise


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
@click.argument("slo", nargs=-1)
@click.option("--tool", type=click.Choice(["k6", "locust"]), required=True, help="The load tool.")
@click.option("--out", "out", metavar="FILE", help="Write here (atomically) instead of stdout.")
@click.option("--force", is_flag=True, help="Replace a --out file this command did not write.")
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
    result = compile_inputs(read, ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    if slo:
        plans = select_slos(plans, slo)
    items, errors = [], []
    for plan in plans:
        try:
            found = loadtool.client_threshold(plan)
        except loadtool.NoStatus as err:
            errors.append(str(err))
            continue
        if isinstance(found, str):
            click.echo(f"skipped: {found}", err=True)
        else:
            items.append(found)
    if errors:
        for error in errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"{len(errors)} error{'s' * (len(errors) != 1)}; nothing was written.", err=True)
        sys.exit(FAILED_EXIT)
    if tool == "k6":
        text, skipped = loadtool.k6_text(items, ", ".join(s.path for s in read.sources))
        for note in skipped:
            click.echo(f"skipped: {note}", err=True)
    else:
        text = loadtool.locust_module(items, ", ".join(s.path for s in read.sources))
    if out is None:
        click.echo(text, nl=False)
        return
    target = Path(out)
    mine = target.is_file() and loadtool.ours(tool, target.read_bytes())
    if target.exists() and not force and not mine:
        raise click.UsageError(
            f"{out} exists and is not a {tool} thresholds file this command wrote: "
            "--force replaces it"
        )
    write_file(target, text.encode("utf-8"))
