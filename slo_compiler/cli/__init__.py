"""What every command shares: the command group, where the inputs are, reading and
compiling them with every problem reported at once, selecting SLOs by name, and the
verbosity flags. The commands live in cli.py (the compiler's) and cli_live.py (those that
talk to a running Prometheus)."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import click

from .. import __version__
from ..compiler import Result, compile_sources
from ..diagnostics import CompileError
from ..rules.ir import SloPlan
from ..source.config import CONFIG_FILE
from ..source.files import Source, discover, read_config, read_platform
from ..source.load import load_config
from ..targets import TARGETS
from ..write import record as cache

SLOS_HELP = "Folder of SLO files (*.yaml, *.yml), searched recursively."
OUT_HELP = (
    "Folder the compiler owns and replaces whole. It must be new, empty or written by "
    "slo-compiler (its .slo-compiler-manifest), and hold nothing else."
)


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


def say(text: str) -> None:
    """A line of normal output, which --quiet silences (errors go to stderr regardless)."""
    if not click.get_current_context().meta.get("quiet"):
        click.echo(text)


def verbose() -> bool:
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


def fail(err: CompileError, outcome: str = "nothing was written.") -> NoReturn:
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


def read_inputs(slos: str, config: str | None) -> Inputs:
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
        named = load_config(config_source)[0].kubernetes.prometheus_config_file
        platform = read_platform(config_source, named)
    except CompileError as err:
        problems += err.diagnostics
    if problems:
        fail(CompileError(problems))
    return Inputs(sources, config_source, platform)


def compile_inputs(read: Inputs, targets: tuple[str, ...] = ()) -> Result:
    """Compile, or exit 1 with every diagnostic on stderr."""
    try:
        return compile_sources(read.sources, read.config, targets or None, read.platform)
    except CompileError as err:
        fail(err)


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


def select_slos(plans: list[SloPlan], wanted: tuple[str, ...]) -> list[SloPlan]:
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


from .compiling import main as main  # noqa: E402 - the commands register on the group above
