"""Command line: a thin shell around the compiler. Exit 0 ok, 1 bad SLO files or drift,
2 usage error. Bad input never produces a traceback, only positioned diagnostics."""

from __future__ import annotations

import difflib
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from . import __version__, cache, outdir, summary
from . import explain as explain_doc
from .compiler import Result, Source, compile_sources
from .config import CONFIG_FILE
from .diagnostics import Code, CompileError, Diagnostic, first_few
from .ir import SloPlan
from .live import report_formats, timespec
from .live.client import Client, PrometheusUnreachable, QueryFailed
from .live.verify import GATES, Options
from .live.verify import verify as run_verify
from .output import Interrupted, diff, raise_interrupted, read_tree, strays, write_tree
from .schema import schema_files
from .sources import discover, read_config, read_platform
from .targets import TARGETS

SLOS_HELP = "Folder of SLO files (*.yaml, *.yml), searched recursively."
OUT_HELP = (
    "Folder the compiler owns and replaces whole. It must be new, empty or written by "
    "slo-compiler (its .slo-compiler-manifest), and hold nothing else."
)
_SHOWN = 5  # removed files named in the summary


CONFIG_HELP = (
    f"Config file: alert engine, Grafana, receivers and routing (default: {CONFIG_FILE} "
    "in the current folder, else the nearest one above the SLO folder within its git "
    "repository; without one, Prometheus alerts and no Grafana routing)."
)
TARGET_HELP = (
    f"Only these outputs (repeatable; one of {', '.join(sorted(TARGETS))}), or +NAME to add "
    "one to the defaults: all but prometheus-operator, and kubernetes only when the config "
    "has a kubernetes section."
)


def inputs(command: Callable[..., None]) -> Callable[..., None]:
    """The options every compiling command takes: where the SLO files and the config are."""
    command = click.option("--config", "config", default=None, help=CONFIG_HELP)(command)
    return click.option("--slos", default="slos", show_default=True, help=SLOS_HELP)(command)


def _remember(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta[name] = ctx.meta.get(name) or value

    return callback


def verbosity(command: Callable[..., None]) -> Callable[..., None]:
    """-q/--quiet and -v/--verbose, on every command (as ruff and kubectl take them)."""
    command = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_remember("verbose"),
        help="Also name every file added (+), changed (~) or removed (-).",
    )(command)
    return click.option(
        "-q",
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=_remember("quiet"),
        help="Print errors only.",
    )(command)


def _say(text: str) -> None:
    """A line of normal output, which --quiet silences (errors go to stderr regardless)."""
    if not click.get_current_context().meta.get("quiet"):
        click.echo(text)


def _verbose() -> bool:
    return bool(click.get_current_context().meta.get("verbose"))


def _check_targets(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    for value in values:
        if value.removeprefix("+") not in TARGETS:
            choices = ", ".join(sorted(TARGETS))
            raise click.BadParameter(f"'{value}' is not one of {choices} (or +NAME)")
    return values


def targets_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="[+]NAME",
        callback=_check_targets,
        help=TARGET_HELP,
    )(command)


def _fail(err: CompileError, outcome: str = "nothing was written.") -> NoReturn:
    """Exit 1 with every diagnostic on stderr."""
    for diagnostic in err.diagnostics:
        click.echo(str(diagnostic), err=True)
    count = len(err.diagnostics)
    click.echo(f"{count} error{'s' if count != 1 else ''}; {outcome}", err=True)
    sys.exit(1)


@dataclass(frozen=True)
class Inputs:
    """Everything a compile reads: SLO files, the config, the platform manifest it names."""

    sources: list[Source]
    config: Source | None
    platform: Source | None

    def digest(self, targets: tuple[str, ...]) -> str:
        return cache.inputs_digest(self.sources, [self.config, self.platform], targets)


def _read(slos: str, config: str | None) -> Inputs:
    problems = []
    sources: list[Source] = []
    config_source = platform = None
    try:
        sources = discover(slos)
    except CompileError as err:
        problems += err.diagnostics
    try:
        config_source, note = read_config(config, slos)
        if note:
            click.echo(note, err=True)
        platform = read_platform(config_source)
    except CompileError as err:
        problems += err.diagnostics
    if problems:
        _fail(CompileError(problems))
    return Inputs(sources, config_source, platform)


def _compile(inputs: Inputs, targets: tuple[str, ...] = ()) -> Result:
    """Compile, or exit 1 with every diagnostic on stderr."""
    try:
        return compile_sources(inputs.sources, inputs.config, targets or None, inputs.platform)
    except CompileError as err:
        _fail(err)


def main(args: Sequence[str] | None = None) -> None:
    """The `slo-compiler` command. SIGINT and SIGTERM (what CI sends on cancel) stop it
    with a one-line message and exit 128+signal, never a traceback; `write_tree` holds
    them while it swaps a tree in, so an interrupt never leaves a half-swapped folder."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_interrupted)
    try:
        cli.main(args=args, prog_name="slo-compiler")
    except Interrupted as stop:
        click.echo(
            f"slo-compiler: interrupted ({signal.Signals(stop.signum).name}); nothing was changed.",
            err=True,
        )
        sys.exit(128 + stop.signum)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="slo-compiler")
def cli() -> None:
    """Compile SLO files into Prometheus recording rules and burn-rate alerts, promtool
    tests that prove them, Grafana alerting and dashboards, and a kustomize Component.

    \b
    Typical use:
      slo-compiler compile            # slos/ -> generated/
      slo-compiler check              # in CI: fail if generated/ is stale
    """


@cli.command()
@verbosity
@inputs
@click.option("--out", default="generated", show_default=True, help=OUT_HELP)
@targets_option
def compile(slos: str, config: str | None, out: str, targets: tuple[str, ...]) -> None:
    """Compile SLO files into OUT.

    Nothing is written unless every file is valid; the new tree replaces the old one in a
    single rename, and files of deleted SLOs disappear with it.
    """
    read = _read(slos, config)
    try:
        real = outdir.prepare(out, slos, read.config and read.config.path)
    except CompileError as err:
        _fail(err)
    result = _compile(read, targets)
    for name in outdir.sweep(real):
        click.echo(f"removed {name}, left behind by an interrupted compile", err=True)
    try:
        changes = write_tree(real, result.files)
    except OSError as err:
        what = f"{err.filename}: {err.strerror}" if err.strerror else str(err)
        _fail(
            CompileError([Diagnostic(out, 1, 1, Code.OUTPUT_WRITE, f"cannot write: {what}")]),
            "nothing was changed." if err.strerror else "remove what is left by hand.",
        )
    cache.remember(real, read.digest(targets), result.files)
    _say(summary.line(result, out, changes))
    if _verbose():
        for entry in changes.summary():
            _say(entry)
    elif changes.removed:
        _say(f"removed: {first_few(changes.removed, _SHOWN)}")
    if changes.late_signal is not None:
        name = signal.Signals(changes.late_signal).name
        click.echo(f"{name} came while the new tree was swapped in; {out}/ is complete.", err=True)


def _select(plans: list[SloPlan], wanted: tuple[str, ...]) -> list[SloPlan]:
    """The plans `wanted` names (an SLO name, SERVICE/NAME, or a SERVICE); an unknown name
    is a usage error that suggests the closest known names."""
    keys = {p: {p.name, f"{p.service}/{p.name}", p.service} for p in plans}
    unknown = [w for w in wanted if not any(w in k for k in keys.values())]
    if unknown:
        known = sorted({f"{p.service}/{p.name}" for p in plans} | {p.service for p in plans})
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(set().union(*keys.values())), n=3)
            hints.append(
                f"no SLO or service named '{name}'"
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "")
            )
        listing = f" Known: {', '.join(known)}." if len(known) <= 20 else ""
        message = "; ".join(hints)
        message += ("" if message.endswith("?") else ".") + listing
        raise click.BadParameter(message, param_hint="SLO")
    return [p for p in plans if keys[p] & set(wanted)]


def _same_flags(slos: str, config: str | None, out: str, targets: tuple[str, ...]) -> str:
    """The options `check` was given, as `compile` takes them, for its hint."""
    flags = [("--slos", slos)] if slos != "slos" else []
    flags += [("--config", config)] if config is not None else []
    flags += [("--out", out)] if out != "generated" else []
    flags += [("--target", t) for t in targets]
    return "".join(f" {name} {shlex.quote(value)}" for name, value in flags)


@cli.command()
@verbosity
@inputs
def validate(slos: str, config: str | None) -> None:
    """Check SLO files and the config without writing anything (exit 1 on any problem)."""
    result = _compile(_read(slos, config))
    _say(f"{result.stats.slos} SLOs OK")


@cli.command()
@verbosity
@inputs
@click.option("--out", default="generated", show_default=True, help=OUT_HELP)
@targets_option
@click.option(
    "--strict",
    is_flag=True,
    help="Always compile and compare in full (the default when CI=true).",
)
def check(slos: str, config: str | None, out: str, targets: tuple[str, ...], strict: bool) -> None:
    """Exit 1 if OUT is not exactly what compiling SLOS produces (for CI).

    Prints which files would be added (+), changed (~) or removed (-); symlinks, special
    files and empty folders in OUT count as drift. Locally, when the inputs and OUT are
    byte for byte those of the last `compile` into OUT, that is the answer and nothing is
    compiled; in CI (CI=true) and with --strict that record is not trusted.
    """
    read = _read(slos, config)
    inputs = read.digest(targets)
    current = read_tree(Path(out))
    trusted = not strict and os.environ.get("CI") != "true"
    if trusted and not strays(Path(out)) and cache.unchanged(Path(out), inputs, current):
        _say(f"{out}/ is up to date ({len(current)} files; inputs unchanged).")
        return
    result = _compile(read, targets)
    changes = diff(Path(out), result.files)
    if changes:
        for line in changes.summary():
            click.echo(line)
        again = _same_flags(slos=slos, config=config, out=out, targets=targets)
        click.echo(
            f"{out}/ is out of date: run `slo-compiler compile{again}` and commit the result.",
            err=True,
        )
        sys.exit(1)
    cache.remember(Path(out), inputs, result.files)
    _say(f"{out}/ is up to date ({result.stats.files} files).")


@cli.command()
@click.argument("slo", nargs=-1)
@inputs
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table per SLO, or one JSON document.",
)
def explain(slo: tuple[str, ...], slos: str, config: str | None, fmt: str) -> None:
    """Show, per SLO and tier, the windows, burn factor, error-ratio threshold and `for`,
    the share of the budget spent when the tier detects, and how long it takes to fire on
    a total outage and on burns of 2x, 10x and 100x the sustainable rate.

    SLO selects SLOs by NAME, SERVICE/NAME, or SERVICE for all of a service's (default:
    all).
    """
    result = _compile(_read(slos, config), ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    if slo:
        plans = _select(plans, slo)
    if fmt == "json":
        click.echo(json.dumps(explain_doc.document(plans, result.config.rule_interval), indent=2))
    else:
        click.echo(explain_doc.text(plans, result.config.rule_interval), nl=False)


EXIT = {"pass": 0, "violated": 1, "inconclusive": 3}
UNREACHABLE = 4


def _headers(values: tuple[str, ...]) -> dict[str, str]:
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


@cli.command()
@click.argument("slo", nargs=-1)
@inputs
@click.option("--prometheus", "url", required=True, metavar="URL", help="Prometheus' base URL.")
@click.option(
    "--from", "start", metavar="TIME", help="Window start: RFC 3339, unix seconds, now-20m."
)
@click.option("--to", "end", metavar="TIME", help="Window end (default now).")
@click.option("--last", metavar="DURATION", help="The window ending now, e.g. 20m.")
@click.option(
    "--gate",
    type=click.Choice(GATES),
    default="page",
    show_default=True,
    help="What fails the run: a page tier crossed or firing, any tier, or the objective.",
)
@click.option(
    "--expect-fire",
    multiple=True,
    metavar="[SLO:]TIER",
    help="A tier (or page/ticket) that must fire: fault-injection runs.",
)
@click.option(
    "--min-events", type=float, default=1, show_default=True, help="Fewer events is inconclusive."
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=$ENV",
    help="An HTTP header whose value is read from the environment.",
)
@click.option("--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle for HTTPS.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="text, JSON (schemas/verify-report.schema.json), JUnit XML, or Markdown.",
)
def verify(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    url: str,
    start: str | None,
    end: str | None,
    last: str | None,
    gate: str,
    expect_fire: tuple[str, ...],
    min_events: float,
    headers: tuple[str, ...],
    ca: str | None,
    fmt: str,
) -> None:
    """Check the SLOs in a live Prometheus over a window (a load test): events and SLI,
    which burn-rate tiers the window crossed, a replay of each tier's alert with its `for`,
    and what the deployed alerts did. Exit 0 pass, 1 violated, 3 inconclusive (no data),
    4 Prometheus unreachable or a query failed.
    """
    result = _compile(_read(slos, config), ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    if slo:
        plans = _select(plans, slo)
    try:
        begin, finish = timespec.window(start, end, last, time.time())
    except (timespec.TimeSpecError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    expected = tuple(
        (w.rsplit(":", 1)[0], w.rsplit(":", 1)[1]) if ":" in w else (None, w) for w in expect_fire
    )
    opts = Options(
        begin,
        finish,
        result.config.rule_interval,
        gate,
        min_events,
        expected,
        result.config.prometheus_alerts,
    )
    client = Client(url, headers=_headers(headers), ca_bundle=ca)
    try:
        report = run_verify(client, plans, opts)
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler verify: {err}", err=True)
        sys.exit(UNREACHABLE)
    if fmt == "json":
        click.echo(json.dumps(report.document(), indent=2))
    else:
        render = {"text": report_formats.text, "junit": report_formats.junit}
        click.echo(render.get(fmt, report_formats.markdown)(report), nl=False)
    sys.exit(EXIT[report.status])


@cli.command()
@verbosity
@click.option(
    "--out", default="schemas", show_default=True, help="Folder to write the JSON Schemas to."
)
def schema(out: str) -> None:
    """Write the JSON Schemas of the SLO file format and of the config file
    (slo.schema.json, config.schema.json), for editors and other tools.

    Editors use them through a modeline at the top of an SLO file:

    \b
    # yaml-language-server: $schema=../schemas/slo.schema.json
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in schema_files().items():
        path = folder / name
        if path.is_file() and path.read_bytes() == data:
            _say(f"unchanged {path}")
            continue
        path.write_bytes(data)
        _say(f"wrote {path}")
