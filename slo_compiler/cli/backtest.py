"""`slo-compiler backtest`: the selected SLOs' alerts replayed over a range of real history
(slo_compiler/live/backtest.py), optionally beside another version of the SLO file.

Exit 0; 1 when the page tiers would have paged more than --max-pages times (or an input
is bad); 3 when no selected SLO had data in the range; 4 Prometheus unreachable or a
query failed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..compiler import compile_sources
from ..diagnostics import CompileError
from ..live import backtest_formats
from ..live.backtest import NO_DATA, UNSUPPORTED
from ..live.backtest import backtest as replay_history
from ..live.queries import Window
from ..rules.ir import SloPlan
from ..source.files import Source, read_file
from . import exits
from .common import fail, format_option, inputs, plans_of, read_inputs, render, slo_arguments
from .prometheus import (
    answered,
    client,
    prometheus_options,
    range_options,
    span,
)

FORMATS = {"text": backtest_formats.text, "markdown": backtest_formats.markdown}


def _compare(path: str, config: Source | None, platform: Source | None) -> list[SloPlan]:
    """The SLOs of another version of an SLO file (e.g. `git show main:slos/x.yaml`)."""
    data, problem = read_file(path)
    name = Path(path).name
    try:
        if problem is not None:
            raise CompileError([problem])
        result = compile_sources(
            [Source(path, name, Path(name).stem, data or b"")], config, ("prometheus",), platform
        )
    except CompileError as err:
        fail(err, "nothing was queried.")
    return [s for p in result.plans for s in p.slos]


@click.command()
@slo_arguments
@inputs
@prometheus_options("10m")
@range_options("Range", "30d")
@click.option(
    "--compare",
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="Another version of an SLO file: its SLOs are replayed too and shown beside.",
)
@click.option(
    "--max-pages",
    type=int,
    default=None,
    help="Exit 1 if the page tiers would have paged more often.",
)
@format_option(
    ("text", "json", "markdown"),
    "A table per SLO, JSON, or Markdown (a CI step summary).",
)
def backtest(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    start: str | None,
    end: str | None,
    last: str | None,
    compare: str | None,
    max_pages: int | None,
    fmt: str,
    **server: Any,
) -> None:
    """How often would these alerts have fired over real history? Every tier of every
    selected SLO is replayed over the range at the rule evaluation interval, with `for`:
    pages, firing time, longest episode, and the budget spent, per SLO and group. Ranges
    without data are reported as gaps, never as quiet.

    \b
    git show main:slos/payment-service.yaml > /tmp/old.yaml
    slo-compiler backtest --prometheus http://prometheus:9090 --last 30d \\
        --compare /tmp/old.yaml payment-service --format markdown
    """
    read = read_inputs(slos, config)
    result, plans = plans_of(read, slo)
    begin, finish = span(start, end, last, result.config.rule_interval)
    old = _compare(compare, read.config, read.platform) if compare else None
    window = Window(begin, finish, result.config.rule_interval)
    prometheus = client(**server)
    report = answered(
        "backtest", prometheus, lambda: replay_history(prometheus, plans, window, old)
    )
    click.echo(render(report, fmt, FORMATS), nl=False)
    if all(s.status in (NO_DATA, UNSUPPORTED) for s in report.slos):
        sys.exit(exits.INCONCLUSIVE)
    if max_pages is not None and report.pages() > max_pages:
        click.echo(f"{report.pages()} pages, more than --max-pages {max_pages}", err=True)
        sys.exit(exits.FAILED)
