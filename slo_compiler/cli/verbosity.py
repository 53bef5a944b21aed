"""-q and -v, which the group gives every command, and what they silence or add."""

from __future__ import annotations

from collections.abc import Callable

import click


def _remember(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta[name] = ctx.meta.get(name) or value

    return callback


# What -v adds on each command (the group's table names it per command).
FILES = "Name every file added (+), changed (~) or removed (-)."
QUERIES = "Say how many queries Prometheus answered, and how long they took."
NOTHING = "Nothing more to say on this command (taken, as on every command)."
GROUP = "Say more, where the command has more to say (its --help says what)."


def options(verbose_help: str = GROUP) -> list[click.Option]:
    """-q/--quiet and -v/--verbose, given to every command by the group (as ruff and
    kubectl take them: before or after the command's name), -v's help saying what it does
    on that command."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_remember("quiet"),
            help="Print errors and warnings only: no summary, no notes.",
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            callback=_remember("verbose"),
            help=verbose_help,
        ),
    ]


def say(text: str) -> None:
    """A line of normal output, which --quiet silences (errors go to stderr regardless)."""
    if not click.get_current_context().meta.get("quiet"):
        click.echo(text)


def note(text: str) -> None:
    """A line about how the run goes (a folder found, a wait), on stderr so that it never
    mixes with a report on stdout; --quiet silences it."""
    if not click.get_current_context().meta.get("quiet"):
        click.echo(text, err=True)


def verbose() -> bool:
    return bool(click.get_current_context().meta.get("verbose"))
