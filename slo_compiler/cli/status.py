"""`slo-compiler status`: where each SLO stands now (slo_compiler/live/status.py).

Exit 0 every SLO within its budget and seen; 1 a budget spent or a page tier burning now;
3 otherwise, where an SLO could not be read (no data, a metric unknown, a raw SLI without
its rules, targets down now); 4 Prometheus unreachable, an answer that is no answer, or
--timeout spent."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from ..live import status_formats
from ..live.status import BURNING, EXHAUSTED, OK, status
from . import exits
from .common import format_option, inputs, plans_of, read_inputs, render, slo_arguments
from .prometheus import answered, client, prometheus_options

FORMATS = {"text": status_formats.text, "markdown": status_formats.markdown}


@click.command("status")
@slo_arguments
@inputs
@prometheus_options("2m")
@format_option(
    ("text", "json", "markdown"),
    "A table per SLO, JSON (schemas/status-report.schema.json), or Markdown.",
)
def status_command(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    fmt: str,
    **server: Any,
) -> None:
    """Where each SLO stands now, over its rolling period: the SLI, the error budget left
    and, at the current burn, when it is spent; each tier's burn over its windows beside
    its factor, and its alert if pending or firing; how much of the period had data. Read
    from the recorded series where the rules are deployed, else from the raw counters.

    \b
    slo-compiler status --prometheus http://prometheus:9090 payment-service
    """
    read = read_inputs(slos, config)
    result, plans = plans_of(read, slo)
    prometheus = client(**server)
    in_prometheus = result.config.prometheus_alerts
    report = answered(
        "status", prometheus, lambda: status(prometheus, plans, time.time(), in_prometheus)
    )
    click.echo(render(report, fmt, FORMATS), nl=False)
    states = {s.status for s in report.slos}
    if states & {EXHAUSTED, BURNING}:
        sys.exit(exits.FAILED)
    if states - {OK}:
        sys.exit(exits.INCONCLUSIVE)
