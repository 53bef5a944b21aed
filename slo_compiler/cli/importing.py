"""`slo-compiler import FORMAT FILE|DIR...`: the edge of the importers (slo_compiler/importers):
read the inputs, print every finding, and write one SLO file per service, each atomically.

The output folder is the user's SLO folder, not ours: a file already there is replaced
only with --force (the same bytes again are no change, so a second run is a no-op), and
nothing else in the folder is touched.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .. import compiler, importers
from ..base.interrupts import Interrupted
from ..diagnostics import Code, CompileError, Diagnostic
from ..source.files import discover, read_file
from ..write.files import signals_held, write_file
from ..write.folder import writing
from . import exits
from .common import fail, force_option, in_repository, out_folder, out_option, written
from .verbosity import say, verbose

# Other tools' specs are YAML, or the JSON a Kubernetes export writes.
SUFFIXES = (".yaml", ".yml", ".json")
_SHOWN = 5  # files named in the summary, or when an interrupt stops the writing


def _inputs(paths: tuple[str, ...]) -> tuple[list[tuple[str, bytes]], list[Diagnostic]]:
    """(path, bytes) of each file named and each spec file under each folder named, read
    as SLO files are (source/files.py: no FIFO, no symlink out of a folder, the size limit),
    in a stable order; every unreadable one is reported."""
    out: list[tuple[str, bytes]] = []
    problems: list[Diagnostic] = []
    for given in paths:
        if Path(given).is_dir():
            try:
                out += [(s.path, s.data) for s in discover(given, SUFFIXES)]
            except CompileError as err:
                problems += err.diagnostics
            continue
        data, problem = read_file(given)
        if problem is not None:
            problems.append(problem)
        else:
            out.append((given, data or b""))
    return out, problems


def _schema(folder: Path) -> str:
    """The SLO schema as the files' modeline names it: the nearest schemas/slo.schema.json
    above the folder they go to (`slo-compiler schema` writes it), else where the
    repository layout puts it, beside the SLO folder."""
    start = folder.resolve()
    for above in [start, *start.parents]:
        found = above / "schemas" / "slo.schema.json"
        if found.is_file():
            return os.path.relpath(found, start)
    return "../schemas/slo.schema.json"


def _few(lines: list[str]) -> str:
    """The first _SHOWN of `lines`, and how many more (an import of 1,500 specs)."""
    more = len(lines) - _SHOWN
    return ", ".join(lines[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


@contextmanager
def _one_writer(folder: Path, out: str) -> Iterator[None]:
    """One writer at a time in the folder (its parent's lock, as `compile` takes): two
    imports at once would interleave their files; the second fails at once (O003)."""
    try:
        with writing(folder.resolve(), out):
            yield
    except CompileError as err:
        fail(err)


@contextmanager
def _said_when_interrupted(folder: Path, lines: list[str], count: int) -> Iterator[None]:
    """A signal between two files: say which were written (each whole: written
    atomically), not the "nothing was changed" of a run stopped before writing."""
    try:
        yield
    except Interrupted as stop:
        done = [line for line in lines if not line.endswith("(unchanged)")]
        name = signal.Signals(stop.signum).name
        shown = _few(done)
        click.echo(
            f"slo-compiler: interrupted ({name}) after {len(lines)} of {count} files in "
            f"{folder}/"
            + (f"; written: {shown}" if done else "; none was changed")
            + ". Each file is whole; run the import again to finish.",
            err=True,
        )
        sys.exit(exits.signalled(stop.signum))


@click.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(importers.FORMATS)))
@click.argument("paths", metavar="FILE|DIR...", nargs=-1, required=True)
@out_option("Folder the SLO files go to.", out_folder, default="slos")
@force_option("SLO files that exist with other content")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (nothing is written).")
@click.option(
    "--partial",
    is_flag=True,
    help="Write the SLOs that import though others have errors (named above; exit 1 still).",
)
@click.option(
    "--service",
    default=None,
    help="Service of every imported SLO (Pyrra has none: default, each SLO's namespace).",
)
def import_(
    fmt: str,
    paths: tuple[str, ...],
    out: str,
    force: bool,
    strict: bool,
    partial: bool,
    service: str | None,
) -> None:
    """Turn Sloth, OpenSLO or Pyrra specs into SLO files, one per service.

    Whatever cannot be carried over exactly is a warning (path:line:col: warning[I00x])
    naming the field and what was done instead; an SLO that cannot be written at all is an
    error. Exit 1 on errors (and on warnings with --strict); then nothing is written,
    unless --partial: then the SLOs that import are, and the errors name the others."""
    inputs, unreadable = _inputs(paths)
    out = in_repository(out, "out")
    folder = Path(out)
    result = importers.run(fmt, inputs, compiler.problems, service, _schema(folder))
    problems = unreadable + result.diagnostics
    # The files are compared and written with the folder's lock held: a second import
    # at once would see the first one's files come and go.
    with _one_writer(folder, out):
        existing, blocked = _present(result.files, folder, force, problems)
        for diagnostic in sorted(problems):
            click.echo(str(diagnostic), err=True)
        errors = [d for d in problems if d.level == "error" or strict]
        warnings = len(problems) - len([d for d in problems if d.level == "error"])
        said = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        writable = {n: d for n, d in result.files.items() if n not in blocked}
        if not writable or (errors and not partial):
            click.echo(f"{said if errors else 'no SLO found'}; nothing was written.", err=True)
            sys.exit(exits.FAILED)
        lines = _write(folder, out, writable, existing)
        noted = f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""
        say(
            f"{result.slos} SLO{'s' if result.slos != 1 else ''} from {len(inputs)} "
            f"file{'s' if len(inputs) != 1 else ''} -> {folder}/: "
            f"{', '.join(lines) if verbose() else _few(lines)}{noted}"
        )
        if errors:  # --partial: what the errors name was left out
            click.echo(f"{said}: the SLOs and files they name were left out.", err=True)
            sys.exit(exits.FAILED)


def _present(
    files: dict[str, bytes], folder: Path, force: bool, problems: list[Diagnostic]
) -> tuple[dict[str, bool], set[str]]:
    """Which files the folder holds already ({name: the same bytes}), and which of them
    may not be replaced (another content without --force, or no file): named in
    `problems`."""
    existing: dict[str, bool] = {}
    blocked: set[str] = set()
    for name, data in files.items():
        target = folder / name
        if target.is_file():
            existing[name] = target.read_bytes() == data
            if not existing[name] and not force:
                blocked.add(name)
                problems.append(
                    Diagnostic(
                        str(target),
                        1,
                        1,
                        Code.IMPORT_EXISTS,
                        "exists and differs from what the import makes of it: --force "
                        "replaces it, or import elsewhere with --out and merge by hand",
                    )
                )
        elif target.exists():
            blocked.add(name)
            problems.append(
                Diagnostic(str(target), 1, 1, Code.IMPORT_EXISTS, "exists and is not a file")
            )
    return existing, blocked


def _write(
    folder: Path, out: str, writable: dict[str, bytes], existing: dict[str, bool]
) -> list[str]:
    """Each file written whole, signals held through each, so that an interrupt says
    what was written; the lines of the summary."""
    lines: list[str] = []
    with written(out), _said_when_interrupted(folder, lines, len(writable)):
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in writable.items():
            if existing.get(name) is True:
                lines.append(f"{name} (unchanged)")
                continue
            with signals_held():  # what an interrupt reports is what was written
                write_file(folder / name, data)
                lines.append(f"{name} ({'replaced' if name in existing else 'added'})")
        # Every file is written: the import is done, and a signal now changes nothing
        # (it would end the run saying that nothing was changed).
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
    return lines
