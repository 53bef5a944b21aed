"""-q and -v, which the group gives every command, and what they silence or add."""

from __future__ import annotations

from collections.abc import Callable

import click


def _remember(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        ctx.meta[name] = ctx.meta.get(name) or value

    return callback


def options() -> list[click.Option]:
    """-q/--quiet and -v/--verbose, given to every command by the group (as ruff and
    kubectl take them: before or after the command's name)."""
    return [
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_remember("quiet"),
            help="Print errors only.",
        ),
        click.Option(
            ["-v", "--verbose"],
            is_flag=True,
            expose_value=False,
            callback=_remember("verbose"),
            help="Say more (compile, check: name every file added +, changed ~ or removed -).",
        ),
    ]


def say(text: str) -> None:
    """A line of normal output, which --quiet silences (errors go to stderr regardless)."""
    if not click.get_current_context().meta.get("quiet"):
        click.echo(text)


def verbose() -> bool:
    return bool(click.get_current_context().meta.get("verbose"))
