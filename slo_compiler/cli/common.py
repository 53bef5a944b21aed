"""What the commands share: where the inputs are, reading and compiling them with every
problem reported at once, selecting SLOs by name, the verbosity flags and what they
silence, and rendering a report in the format asked for."""

from __future__ import annotations

import difflib
import functools
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml
from click.shell_completion import CompletionItem

from ..compiler import Result, compile_sources
from ..diagnostics import CompileError
from ..rules.ir import SloPlan
from ..source.config import CONFIG_FILE
from ..source.files import Source, discover, find_slo_folder, read_beside, read_config
from ..source.load import load_config
from ..source.model import default_alert_name
from ..targets import TARGETS
from ..write import record as cache
from ..write.files import head, write_file
from ..write.folder import leaving_link
from . import exits
from .verbosity import note


def in_ci() -> bool:
    """Whether this runs in CI. CI systems set CI, to "true", "1", "True" or "yes"
    (GitHub, GitLab, Buildkite, CircleCI, Woodpecker...): anything but empty or a
    spelling of no counts, so a runner's spelling never turns CI's safeguards off."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


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


def in_repository(value: str, name: str) -> str:
    """A folder option left at its default (slos, schemas, generated), in the repository
    rather than below the current folder when a command runs from inside the SLO folder
    or another subfolder: `import` from `slos/` writes to `slos/`, not `slos/slos/`. A
    value the user typed is theirs, relative to where they are."""
    ctx = click.get_current_context()
    if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
        return value
    found = None if Path("slos").is_dir() else find_slo_folder()
    return value if found is None else os.path.relpath(found.parent / value)


def inputs(command: Callable[..., None]) -> Callable[..., None]:
    """The options every compiling command takes: where the SLO files and the config are.
    Run from inside the SLO folder (or another subfolder of the repository) with the
    defaults, a command works on the repository's `slos/`, and its default `--out` beside
    it, as git works on its repository from any of its folders."""

    @functools.wraps(command)
    def located(**kwargs: Any) -> None:
        ctx = click.get_current_context()
        default = click.core.ParameterSource.DEFAULT
        if ctx.get_parameter_source("slos") is default and not Path(kwargs["slos"]).is_dir():
            found = find_slo_folder(kwargs["slos"])
            if found is not None:
                kwargs["slos"] = os.path.relpath(found)
                if kwargs.get("out") is not None:
                    kwargs["out"] = in_repository(kwargs["out"], "out")
                note(f"note: using the SLO folder {kwargs['slos']}")
        command(**kwargs)

    located = click.option("--config", "config", default=None, help=CONFIG_HELP)(located)
    return click.option("--slos", default="slos", show_default=True, help=SLOS_HELP)(located)


def _complete_slos(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of SLO arguments: the SLO names, SERVICE/NAME, services and burn
    alert names (as on the page) of the SLO folder's files, read leniently (a file being
    edited still completes)."""
    folder = ctx.params.get("slos") or "slos"
    if not Path(folder).is_dir():
        folder = str(find_slo_folder() or folder)
    names: set[str] = set()
    try:
        found = discover(folder)
    except CompileError:
        return []
    for source in found:
        try:
            document = yaml.safe_load(source.data)
        except yaml.YAMLError:
            continue
        if not isinstance(document, dict) or not isinstance(document.get("slos"), list):
            continue
        service = str(document.get("service", ""))
        names.add(service)
        for slo in document["slos"]:
            if isinstance(slo, dict) and "name" in slo:
                names |= {str(slo["name"]), f"{service}/{slo['name']}"}
                alerting = slo.get("alerting")
                named = alerting.get("name") if isinstance(alerting, dict) else None
                names.add(str(named or default_alert_name(str(slo["name"]))))
    return [CompletionItem(n) for n in sorted(names) if n and n.startswith(incomplete)]


def slo_arguments(command: Callable[..., None]) -> Callable[..., None]:
    """SLO...: names, SERVICE/NAME, services or alert names; completed from the files."""
    return click.argument("slo", nargs=-1, shell_complete=_complete_slos)(command)


def given(*names: str) -> list[str]:
    """The options among `names` the user gave other than their defaults, as arguments
    (`--slos`, `loadtest/slos`): what a hint to run another command the same way repeats.
    From inside the SLO folder the defaults find it again, so they are left out."""
    ctx = click.get_current_context()
    defaults = {p.name: p.default for p in ctx.command.params}
    given = [(name, ctx.params[name]) for name in names]
    return [a for name, v in given if v != defaults[name] for a in (f"--{name}", str(v))]


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
    sys.exit(exits.FAILED)


def format_option(formats: tuple[str, ...], help: str) -> Callable[[Any], Any]:
    """--format, as every command that prints a report takes it: the first format (text)
    by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(formats)),
        default=formats[0],
        show_default=True,
        help=help,
    )


def out_option(
    help: str,
    check: Callable[[str | None, click.Parameter | None], str | None] | None = None,
    default: str | None = None,
    metavar: str = "FOLDER",
) -> Callable[[Any], Any]:
    """--out, as every command that writes takes it: `check` (out_file, out_folder,
    not_through_links) refuses a bad one before any work; None where the command checks
    it itself once it knows the shape (a report: a file, or a folder of Markdown)."""
    return click.option(
        "--out",
        default=default,
        show_default=default is not None,
        metavar=metavar,
        help=help,
        callback=checked(check) if check else None,
    )


def force_option(what: str = "what this command did not write") -> Callable[[Any], Any]:
    """--force: replace `what`; without it a command leaves what it cannot prove it
    wrote (write_out, the compile's marks) and says how to replace it."""
    return click.option("--force", is_flag=True, help=f"Replace {what}.")


def out_file(value: str | None, param: click.Parameter | None = None) -> str | None:
    """An --out FILE checked before any work: a name, not a folder, in a folder that
    exists (a typo in the folder is the user's to fix, not ours to create)."""
    if value is None:
        return None
    path = Path(value)
    if not value.strip() or path.is_dir():
        raise click.BadParameter(f"{value!r} is not a file name", param=param, param_hint="--out")
    if not path.parent.is_dir():
        raise click.BadParameter(
            f"folder {str(path.parent)!r} does not exist", param=param, param_hint="--out"
        )
    return not_through_links(value, param)


def out_folder(value: str | None, param: click.Parameter | None = None) -> str | None:
    """An --out FOLDER checked before any work: a name, and no file where it or one of
    the folders above it would be."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("'' is not a folder name", param=param, param_hint="--out")
    path = Path(value)
    found = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not found.is_dir():
        raise click.BadParameter(
            f"{str(found)!r} exists and is not a folder", param=param, param_hint="--out"
        )
    return not_through_links(value, param)


def not_through_links(value: str | None, param: click.Parameter | None = None) -> str | None:
    """--out refused where a link on its way leads out of the repository holding it."""
    if value is None:
        return None
    link = leaving_link(Path(value))
    if link is not None:
        raise click.BadParameter(
            f"{str(link)!r} is a link to {os.path.realpath(link)!r}, outside the repository: "
            "not written through",
            param=param,
            param_hint="--out",
        )
    return value


def checked(check: Callable[[str | None, click.Parameter | None], str | None]) -> Any:
    """`check` as a click callback."""
    return lambda _ctx, param, value: check(value, param)


def write_out(out: str, data: bytes, force: bool, ours: Callable[[bytes], bool], what: str) -> None:
    """One file written atomically at --out: replaced only where this command wrote it
    (`ours` finds its mark in the file's first bytes) or with --force, never a file of
    the user's; a write the system refuses is one line."""
    target = Path(out)
    if target.exists() and not force and not (target.is_file() and ours(head(target))):
        raise click.UsageError(
            f"{out} exists and is not {what} this command wrote: --force replaces it"
        )
    with written(out):
        write_file(target, data)


@contextmanager
def written(out: str) -> Iterator[None]:
    """A write that the system refuses (permissions, a full disk) is one line naming
    --out and the reason, exit 1, not a traceback."""
    try:
        yield
    except OSError as err:
        click.echo(f"{out}: cannot write: {err.strerror or err}", err=True)
        sys.exit(exits.FAILED)


@dataclass(frozen=True)
class Inputs:
    """Everything a compile reads: SLO files, the config, the platform manifest it names."""

    sources: list[Source]
    config: Source | None
    platform: Source | None
    alertmanager: Source | None = None  # the configuration alertmanager.base names

    def digest(self, targets: tuple[str, ...]) -> str:
        beside = [self.config, self.platform, self.alertmanager]
        return cache.inputs_digest(self.sources, beside, targets)


def read_inputs(slos: str, config: str | None) -> Inputs:
    problems = []
    sources: list[Source] = []
    config_source = platform = alertmanager = None
    try:
        sources = discover(slos)
    except CompileError as err:
        problems += err.diagnostics
    try:
        config_source, found_note = read_config(config, slos)
        if found_note:
            note(found_note)
        config = load_config(config_source)[0]
        platform = read_beside(config_source, config.kubernetes.prometheus_config_file)
        alertmanager = read_beside(config_source, config.alertmanager.base)
    except CompileError as err:
        problems += err.diagnostics
    if problems:
        fail(CompileError(problems))
    return Inputs(sources, config_source, platform, alertmanager)


def compile_inputs(read: Inputs, targets: tuple[str, ...] = (), strict: bool = False) -> Result:
    """Compile, or exit 1 with every diagnostic on stderr; warnings on stderr too (errors,
    with `strict`)."""
    try:
        with _collector_off():
            result = compile_sources(
                read.sources, read.config, targets or None, read.platform, strict, read.alertmanager
            )
    except CompileError as err:
        fail(err)
    for warning in result.warnings:
        click.echo(str(warning), err=True)
    return result


@contextmanager
def _collector_off() -> Iterator[None]:
    """The cyclic garbage collector off while the compile builds its plans, and what it
    built frozen after (never scanned again). A compile is a heap of objects that all
    live to its end, and the collector scanned them over and over as they were made: a
    fifth of the compile's own time at 1,500 files (bench/RESULTS.md), to find almost
    nothing (18,000 objects in cycles, a few MB: what it finds after the compile)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def select_slos(plans: list[SloPlan], wanted: tuple[str, ...]) -> list[SloPlan]:
    """The plans `wanted` names (an SLO name, SERVICE/NAME, a SERVICE, or the name of one
    of its alerts as on-call sees it); an unknown name is a usage error that suggests the
    closest known names."""
    keys = {p: {p.name, f"{p.service}/{p.name}", p.service, *p.alert_names()} for p in plans}
    unknown = [w for w in wanted if not any(w in k for k in keys.values())]
    if unknown:
        known = sorted({f"{p.service}/{p.name}" for p in plans} | {p.service for p in plans})
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, sorted(set().union(*keys.values())), n=3)
            hints.append(
                f"no SLO, service or alert named '{name}'"
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "")
            )
        listing = f" Known: {', '.join(known)}." if len(known) <= 20 else ""
        message = "; ".join(hints)
        message += ("" if message.endswith("?") else ".") + listing
        raise click.BadParameter(message, param_hint="SLO")
    return [p for p in plans if keys[p] & set(wanted)]


def plans_of(read: Inputs, wanted: tuple[str, ...]) -> tuple[Result, list[SloPlan]]:
    """Compile the inputs (rules only: what every command but compile needs) and the SLOs
    `wanted` names, all of them when it names none."""
    result = compile_inputs(read, ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    return result, select_slos(plans, wanted) if wanted else plans


def render(report: Any, fmt: str, formats: dict[str, Callable[[Any], str]]) -> str:
    """A report as JSON (its document()) or in one of its text formats."""
    if fmt == "json":
        return json.dumps(report.document(), indent=2) + "\n"
    return formats[fmt](report)
