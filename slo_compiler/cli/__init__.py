"""The command line: a thin shell around the compiler and the live checks.

The group loads a command's module only when that command runs (`slo-compiler -V` and
`compile` never import the live side, the importers or an HTTP client), and gives every
command -q and -v. Exit codes: 0 ok, 1 bad input (or drift, a failed gate), 2 usage; the
live commands add 3 (inconclusive) and 4 (Prometheus). Bad input never produces a
traceback, only positioned diagnostics; SIGINT and SIGTERM one line and 128+signal.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Sequence

import click

from .. import __version__
from ..base.interrupts import Interrupted, interrupted, raise_interrupted
from ..diagnostics import printable
from . import exits, verbosity

# command -> (module of this package, attribute, short help, what -v adds): the module is
# loaded when the command runs; `--help` lists the commands from this table, loading none.
COMMANDS = {
    "backtest": (
        "backtest",
        "backtest",
        "How often the alerts would have fired over history.",
        verbosity.QUERIES,
    ),
    "check": (
        "compiling",
        "check",
        "Exit 1 if OUT is not what compiling SLOS produces (CI).",
        verbosity.FILES,
    ),
    "compile": ("compiling", "compile", "Compile SLO files into OUT.", verbosity.FILES),
    "doctor": (
        "doctor",
        "doctor",
        "Measure what each SLO assumes in a live Prometheus.",
        verbosity.QUERIES,
    ),
    "explain": (
        "compiling",
        "explain",
        "Show each tier's windows, thresholds and timings.",
        verbosity.NOTHING,
    ),
    "import": (
        "importing",
        "import_",
        "Turn Sloth, OpenSLO or Pyrra specs into SLO files.",
        "Name every file written (else the first five).",
    ),
    "init": (
        "init",
        "init",
        "Start a team's SLO repository: examples, config, CI, generated/.",
        verbosity.FILES,
    ),
    "loadtest": ("gate", "loadtest", "Run a load test and gate it on the SLOs.", verbosity.QUERIES),
    "report": (
        "report",
        "report_command",
        "Did we meet our SLOs over a calendar period?",
        verbosity.QUERIES,
    ),
    "schema": (
        "compiling",
        "schema",
        "Write the JSON Schemas of the SLO and config files.",
        verbosity.NOTHING,
    ),
    "status": (
        "status",
        "status_command",
        "Where each SLO stands now: budget left, burn.",
        verbosity.QUERIES,
    ),
    "validate": (
        "compiling",
        "validate",
        "Check SLO files and the config, writing nothing.",
        verbosity.NOTHING,
    ),
    "verify": (
        "gate",
        "verify",
        "Check the SLOs in a live Prometheus over a window.",
        verbosity.QUERIES,
    ),
}


def _with_verbosity(command: click.Command, verbose_help: str) -> click.Command:
    """-q and -v on the command and on every subcommand of a group."""
    names = {n for p in command.params for n in getattr(p, "opts", [])}
    verbose_help = getattr(command, "verbose_help", verbose_help)  # a subcommand's own
    if "-q" not in names and not isinstance(command, click.Group):
        command.params.extend(verbosity.options(verbose_help))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _with_verbosity(sub, verbose_help)
    return command


# The root context's obj when the command line runs as the program (main), which then owns
# the process's signals; click's test runner and other callers leave them alone.
_OWN_SIGNALS = object()


class LazyGroup(click.Group):
    """Commands imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS: `--help` imports no command's module."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in sorted(COMMANDS)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, short, verbose_help = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f".{module}", __name__), attribute)
        command.short_help = short
        # Run by main(): from here on a signal unwinds the run (Interrupted), which
        # can clean up. Until the command's modules are imported the entry's handler ends
        # the process: an exception raised inside an import can come out as another one (a
        # RuntimeError from pydantic's class set-up), or be swallowed ("Exception ignored").
        if ctx.find_root().obj is _OWN_SIGNALS:
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, raise_interrupted)
        return _with_verbosity(command, verbose_help)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="slo-compiler")
def cli() -> None:
    """Compile SLO files into Prometheus recording rules and burn-rate alerts, promtool
    tests that prove them, Grafana alerting and dashboards, and a kustomize Component.

    \b
    Typical use:
      slo-compiler compile            # slos/ -> generated/
      slo-compiler check              # in CI: fail if generated/ is stale
    """


cli.params.extend(verbosity.options())


def main(args: Sequence[str] | None = None) -> None:
    """The `slo-compiler` command. SIGINT and SIGTERM (what CI sends on cancel) stop it
    with a one-line message and exit 128+signal, never a traceback (slo_compiler.entry's
    handler until the command is loaded, then Interrupted); `write_tree` holds them while
    it swaps a tree in, so an interrupt never leaves a half-swapped folder."""
    try:
        code = cli.main(
            args=args, prog_name="slo-compiler", obj=_OWN_SIGNALS, standalone_mode=False
        )
        if isinstance(code, int):  # --help, --version, ctx.exit()
            sys.exit(code)
    except click.ClickException as err:
        # A usage error quotes what was typed (a file name, a time, a URL): printed as
        # every text is, on one line, without escape sequences or bidi overrides.
        err.message = printable(err.message)
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(exits.FAILED)
    except Interrupted as stop:
        click.echo(interrupted(stop.signum), err=True)
        sys.exit(exits.signalled(stop.signum))
    finally:
        # The run is over, its status decided: Python gives signals back their default
        # action while it shuts down, and one arriving then would kill a finished run.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
