"""`slo-compiler report`: did we meet our SLOs over a month, a quarter, a week or a range
(slo_compiler/live/report.py)? Exit 0 every SLO met, 1 one missed, 3 no data for any, 4
Prometheus unreachable, an answer that is no answer, or --timeout spent."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..live import report_formats
from ..live.backtest import NO_DATA, UNSUPPORTED
from ..live.report import MISSED, NOT_ENOUGH, Report, report
from ..live.timespec import TimeSpecError, calendar, capped
from ..write.files import head, write_file
from . import exits
from .common import (
    force_option,
    format_option,
    inputs,
    out_file,
    out_folder,
    out_option,
    plans_of,
    read_inputs,
    slo_arguments,
    write_out,
    written,
)
from .prometheus import (
    answered,
    client,
    prometheus_options,
    range_options,
    span,
)


def _period(
    month: str | None,
    quarter: str | None,
    week: str | None,
    zone: str,
    start: str | None,
    end: str | None,
    last: str | None,
    step: float,
) -> tuple[float, float, str]:
    """The period the options name, looked at every `step`: a calendar one in `zone` (and
    its name), or a range (no name)."""
    given = [(k, v) for k, v in (("month", month), ("quarter", quarter), ("week", week)) if v]
    if len(given) > 1 or (given and (start or end or last)):
        raise click.UsageError("give one of --month, --quarter, --week or a range")
    if given:
        kind, text = given[0]
        try:
            begin, finish = capped(*calendar(kind, text, zone), step)
        except TimeSpecError as err:
            raise click.UsageError(str(err)) from None
        return begin, finish, text
    begin, finish = span(start, end, last, step)
    return begin, finish, ""


def _rendered(made: Report, fmt: str) -> tuple[Report, dict[str, str]]:
    """The report and its files: for Markdown report.md and its charts, else the one text
    (under ""); rendering counts in --timeout too."""
    if fmt == "markdown":
        charts = report_formats.chart_files(made)
        text = report_formats.markdown(made, {name: name for name in charts})
        return made, {"report.md": text, **charts}
    render = {
        "text": report_formats.text,
        "json": lambda r: json.dumps(r.document(), indent=2) + "\n",
        "html": report_formats.html_page,
    }[fmt]
    return made, {"": render(made)}


def _marked(first: bytes) -> bool:
    """A report this command wrote: its mark in the first bytes."""
    return report_formats.MARK.encode() in first


def _ours(path: Path) -> bool:
    """A file of a Markdown report's folder this command wrote: the report, or a chart
    (matplotlib's SVG names its creator)."""
    first = head(path)
    return _marked(first) or (path.suffix == ".svg" and b"slo-compiler" in first)


def _write_folder(out: Path, files: dict[str, str], force: bool) -> None:
    """report.md and its charts into `out`, which holds nothing this command did not write
    (else --force)."""
    foreign = (
        [p.name for p in out.iterdir() if not p.is_file() or not _ours(p)] if out.exists() else []
    )
    if foreign and not force:
        raise click.UsageError(
            f"{out} holds files this command did not write ({', '.join(sorted(foreign)[:3])}): "
            "choose another --out, or --force"
        )
    with written(str(out)):
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            write_file(out / name, text.encode("utf-8"))


@click.command("report")
@slo_arguments
@inputs
@prometheus_options("10m")
@click.option("--month", metavar="YYYY-MM", help="A calendar month, e.g. 2026-11.")
@click.option("--quarter", metavar="YYYY-QN", help="A calendar quarter, e.g. 2026-Q4.")
@click.option("--week", metavar="YYYY-Www", help="An ISO week (from Monday), e.g. 2026-W48.")
@range_options("Range", "30d")
@click.option(
    "--timezone", "zone", default="UTC", show_default=True, help="Where calendar periods start."
)
@format_option(
    ("text", "json", "markdown", "html"),
    "text, JSON (schemas/report.schema.json), Markdown with its charts (needs --out "
    "FOLDER), or one self-contained HTML page.",
)
@out_option("Write here: a file, or for Markdown a folder.", metavar="PATH")
@force_option()
def report_command(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    month: str | None,
    quarter: str | None,
    week: str | None,
    start: str | None,
    end: str | None,
    last: str | None,
    zone: str,
    fmt: str,
    out: str | None,
    force: bool,
    **server: Any,
) -> None:
    """Did we meet our SLOs? A summary by team, then per SLO and group over the period:
    attainment against the objective (event-weighted, from the counters) and its trend,
    the budget consumed (of the range and of the SLO's window), the incidents and the
    alerts they raised, the data's coverage, and two charts (budget burn-down; the SLI
    with the objective and the episodes, over the traffic). A period still running is
    read to now and judged IN-PROGRESS.

    \b
    slo-compiler report --prometheus http://prometheus:9090 --month 2026-11 \\
        --format html --out nov.html
    """
    if fmt == "markdown" and out is None:
        raise click.UsageError(
            "--format markdown writes the report and its charts: give --out FOLDER"
        )
    (out_folder if fmt == "markdown" else out_file)(out)
    result, plans = plans_of(read_inputs(slos, config), slo)
    interval = result.config.rule_interval
    routing = result.config.routing
    team_label = routing.team_label if routing is not None else "team"
    begin, finish, period = _period(month, quarter, week, zone, start, end, last, interval)
    prometheus = client(**server)
    made, files = answered(
        "report",
        prometheus,
        lambda: _rendered(
            report(
                prometheus, plans, begin, finish, interval, period, zone, time.time(), team_label
            ),
            fmt,
        ),
    )
    if fmt == "markdown":
        _write_folder(Path(out), files, force)
    elif out is None:
        click.echo(files[""], nl=False)
    else:
        write_out(out, files[""].encode("utf-8"), force, _marked, "a report")
    states = {s.status for s in made.slos}
    if MISSED in states:
        sys.exit(exits.FAILED)
    if states <= {NO_DATA, UNSUPPORTED, NOT_ENOUGH}:
        sys.exit(exits.INCONCLUSIVE)
