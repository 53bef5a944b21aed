"""The compiler's commands: compile, validate, check (drift), explain, schema. Exit 0 ok,
1 bad SLO files or drift, 2 usage error."""

from __future__ import annotations

import json
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import click

from ..diagnostics import Code, CompileError, Diagnostic, first_few
from ..rules import explain as explain_doc
from ..write import folder
from ..write import record as cache
from ..write.files import diff, strays, walk, write_file, write_tree
from ..write.helpers import Helpers, helpers
from ..write.schemas import schema_files
from . import exits, summary
from .common import (
    OUT_HELP,
    Inputs,
    compile_inputs,
    fail,
    format_option,
    given,
    in_ci,
    in_repository,
    inputs,
    not_through_links,
    out_option,
    plans_of,
    read_inputs,
    slo_arguments,
    targets_option,
)
from .verbosity import note, say, verbose

_SHOWN = 5  # removed files named in the summary


STRICT_HELP = "Treat warnings (an alert no route takes) as errors."
strict_option = click.option("--strict", is_flag=True, help=STRICT_HELP)


@click.command()
@inputs
@out_option(OUT_HELP, not_through_links, default="generated")
@targets_option
@strict_option
def compile(
    slos: str, config: str | None, out: str, targets: tuple[str, ...], strict: bool
) -> None:
    """Compile SLO files into OUT.

    Nothing is written unless every file is valid; the new tree replaces the old one in a
    single rename, and files of deleted SLOs disappear with it.
    """
    with helpers() as renderer:
        compile_into(slos, config, out, targets, renderer, strict)


def compile_into(
    slos: str,
    config: str | None,
    out: str,
    targets: tuple[str, ...],
    renderer: Helpers | None,
    strict: bool = False,
) -> None:
    """What `compile` does, for `init` too: read, compile, and write OUT (exit 1 with the
    diagnostics on bad input)."""
    read = read_inputs(slos, config)
    config_path = read.config and read.config.path
    try:
        real = folder.prepare(out, slos, config_path)
        with folder.writing(real, out):
            _write(
                read,
                real,
                out,
                targets,
                renderer,
                lambda: folder.prepare(out, slos, config_path),
                strict,
            )
    except CompileError as err:
        fail(err)


def _write(
    read: Inputs,
    real: Path,
    out: str,
    targets: tuple[str, ...],
    renderer: Helpers | None,
    still_ours: Callable[[], object],
    strict: bool = False,
) -> None:
    """Compile and write, the folder's lock held: sweep what dead runs left, write the
    tree, and check the folder is still ours right before the swap."""
    result = compile_inputs(read, targets, strict)
    for name in folder.sweep(real):
        note(f"removed {name}, left behind by an interrupted compile")
    try:
        changes = write_tree(
            real, result.files, hold=True, renderer=renderer, before_swap=still_ours
        )
    except OSError as err:
        what = f"{err.filename}: {err.strerror}" if err.strerror else str(err)
        fail(
            CompileError([Diagnostic(out, 1, 1, Code.OUTPUT_WRITE, f"cannot write: {what}")]),
            "nothing was changed." if err.strerror else "remove what is left by hand.",
        )
    cache.remember(real, read.digest(targets), changes.tree)
    say(summary.line(result, out, changes))
    if verbose():
        for entry in changes.summary():
            say(entry)
    elif changes.removed:
        say(f"removed: {first_few(changes.removed, _SHOWN)}")
    if changes.signals:
        name = signal.Signals(changes.signals[0]).name
        click.echo(f"{name} came after the new tree was written; {out}/ is complete.", err=True)


def _same_flags(targets: tuple[str, ...]) -> str:
    """The options `check` was given, as `compile` takes them, for its hint."""
    flags = given("slos", "config", "out") + [a for t in targets for a in ("--target", t)]
    return "".join(f" {shlex.quote(a)}" for a in flags)


@click.command()
@inputs
@strict_option
def validate(slos: str, config: str | None, strict: bool) -> None:
    """Check SLO files and the config without writing anything (exit 1 on any problem)."""
    result = compile_inputs(read_inputs(slos, config), strict=strict)
    say(f"{result.stats.slos} SLOs OK")


@click.command()
@inputs
@out_option(OUT_HELP, default="generated")
@targets_option
@click.option(
    "--strict",
    is_flag=True,
    help="Always compile and compare in full (the default when CI=true), and treat "
    "warnings (an alert no route takes) as errors.",
)
def check(slos: str, config: str | None, out: str, targets: tuple[str, ...], strict: bool) -> None:
    """Exit 1 if OUT is not exactly what compiling SLOS produces (for CI).

    Prints which files would be added (+), changed (~) or removed (-); symlinks, special
    files and empty folders in OUT count as drift. Locally, when the inputs and OUT are
    byte for byte those of the last `compile` into OUT, that is the answer and nothing is
    compiled; in CI (CI=true) and with --strict that record is not trusted.
    """
    read = read_inputs(slos, config)
    inputs = read.digest(targets)
    trusted = not strict and not in_ci()
    with folder.reading(Path(out).resolve(), _waiting(out)):
        _check(read, inputs, out, targets, strict, trusted)


def _waiting(out: str) -> Callable[[int | None], None]:
    def wait(holder: int | None) -> None:
        who = f" (pid {holder})" if holder else ""
        note(f"waiting for the slo-compiler{who} writing {out}/...")

    return wait


def _check(
    read: Inputs, inputs: str, out: str, targets: tuple[str, ...], strict: bool, trusted: bool
) -> None:
    """check's comparison, with the folder's lock held: a compile swapping the tree
    meanwhile would make files vanish under it."""
    if trusted and not strays(Path(out)) and cache.unchanged(Path(out), inputs):
        count = sum(1 for _ in walk(Path(out)))
        say(f"{out}/ is up to date ({count} files; inputs unchanged).")
        return
    with helpers() as renderer:
        result = compile_inputs(read, targets, strict)
        changes = diff(Path(out), result.files, renderer)
    if changes:
        for line in changes.summary():
            click.echo(line)
        again = _same_flags(targets)
        click.echo(
            f"{out}/ is out of date: run `slo-compiler compile{again}` and commit the result.",
            err=True,
        )
        sys.exit(exits.FAILED)
    cache.remember(Path(out), inputs, changes.tree)
    say(f"{out}/ is up to date ({result.stats.files} files).")


@click.command()
@slo_arguments
@inputs
@format_option(
    ("text", "json"),
    "A table per SLO, or one JSON document.",
)
def explain(slo: tuple[str, ...], slos: str, config: str | None, fmt: str) -> None:
    """Show, per SLO and tier, the windows, burn factor, error-ratio threshold and `for`,
    the share of the budget spent when the tier detects, and how long it takes to fire on
    a total outage and on burns of 2x, 10x and 100x the sustainable rate.

    Then each alert as on-call meets it: its name, severity, `for`, and the receiver the
    config's routing sends it to.

    SLO selects SLOs by NAME, SERVICE/NAME, SERVICE for all of a service's, or the name
    of one of its alerts (`explain PaymentFailureBudgetBurn`); default: all.
    """
    result, plans = plans_of(read_inputs(slos, config), slo)
    if fmt == "json":
        document = explain_doc.document(plans, result.config.rule_interval, result.config)
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(explain_doc.text(plans, result.config.rule_interval, result.config), nl=False)


@click.command()
@out_option("Folder to write the JSON Schemas to.", not_through_links, default="schemas")
def schema(out: str) -> None:
    """Write the JSON Schemas of the SLO file format and of the config file
    (slo.schema.json, config.schema.json), for editors and other tools.

    Editors use them through a modeline at the top of an SLO file:

    \b
    # yaml-language-server: $schema=../schemas/slo.schema.json
    """
    schemas = Path(in_repository(out, "out"))
    files = {schemas / name: data for name, data in schema_files().items()}
    linked = [str(path) for path in files if path.is_symlink()]
    if linked:
        # A cloned repository can ship a link to any file of the machine: never written
        # through, and not replaced either (the link is the repository's).
        fail(
            CompileError(
                [
                    Diagnostic(p, 1, 1, Code.OUTPUT_REFUSED, "is a symlink: not written through")
                    for p in linked
                ]
            )
        )
    schemas.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        if path.is_file() and path.read_bytes() == data:
            say(f"unchanged {path}")
            continue
        write_file(path, data)
        say(f"wrote {path}")
