"""The commands that talk to a running Prometheus: `verify` (the load-test gate)."""

from __future__ import annotations

import json
import os
import sys
import time

import click

from .cli_base import cli, compile_inputs, inputs, read_inputs, select_slos
from .live import report_formats, timespec
from .live.client import Client, PrometheusUnreachable, QueryFailed
from .live.verify import GATES, Options
from .live.verify import verify as run_verify

EXIT = {"pass": 0, "violated": 1, "inconclusive": 3}
UNREACHABLE = 4


def _headers(values: tuple[str, ...]) -> dict[str, str]:
    """--header NAME=$ENV: the value comes from the environment, never the command line."""
    out = {}
    for value in values:
        name, _, ref = value.partition("=")
        if not name or not ref.startswith("$") or ref[1:] not in os.environ:
            raise click.BadParameter(
                f"'{name or value}': write NAME=$VARIABLE with VARIABLE set in the environment",
                param_hint="--header",
            )
        out[name] = os.environ[ref[1:]]
    return out


@cli.command()
@click.argument("slo", nargs=-1)
@inputs
@click.option("--prometheus", "url", required=True, metavar="URL", help="Prometheus' base URL.")
@click.option(
    "--from", "start", metavar="TIME", help="Window start: RFC 3339, unix seconds, now-20m."
)
@click.option("--to", "end", metavar="TIME", help="Window end (default now).")
@click.option("--last", metavar="DURATION", help="The window ending now, e.g. 20m.")
@click.option(
    "--gate",
    type=click.Choice(GATES),
    default="page",
    show_default=True,
    help="What fails the run: a page tier crossed or firing, any tier, or the objective.",
)
@click.option(
    "--expect-fire",
    multiple=True,
    metavar="[SLO:]TIER",
    help="A tier (or page/ticket) that must fire: fault-injection runs.",
)
@click.option(
    "--min-events", type=float, default=1, show_default=True, help="Fewer events is inconclusive."
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=$ENV",
    help="An HTTP header whose value is read from the environment.",
)
@click.option("--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle for HTTPS.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit", "markdown"]),
    default="text",
    show_default=True,
    help="text, JSON (schemas/verify-report.schema.json), JUnit XML, or Markdown.",
)
def verify(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    url: str,
    start: str | None,
    end: str | None,
    last: str | None,
    gate: str,
    expect_fire: tuple[str, ...],
    min_events: float,
    headers: tuple[str, ...],
    ca: str | None,
    fmt: str,
) -> None:
    """Check the SLOs in a live Prometheus over a window (a load test): events and SLI,
    which burn-rate tiers the window crossed, a replay of each tier's alert with its `for`,
    and what the deployed alerts did. Exit 0 pass, 1 violated, 3 inconclusive (no data),
    4 Prometheus unreachable or a query failed.
    """
    result = compile_inputs(read_inputs(slos, config), ("prometheus",))
    plans = [s for p in result.plans for s in p.slos]
    if slo:
        plans = select_slos(plans, slo)
    try:
        begin, finish = timespec.window(start, end, last, time.time())
    except (timespec.TimeSpecError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    expected = tuple(
        (w.rsplit(":", 1)[0], w.rsplit(":", 1)[1]) if ":" in w else (None, w) for w in expect_fire
    )
    opts = Options(
        begin,
        finish,
        result.config.rule_interval,
        gate,
        min_events,
        expected,
        result.config.prometheus_alerts,
    )
    client = Client(url, headers=_headers(headers), ca_bundle=ca)
    try:
        report = run_verify(client, plans, opts)
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler verify: {err}", err=True)
        sys.exit(UNREACHABLE)
    if fmt == "json":
        click.echo(json.dumps(report.document(), indent=2))
    else:
        render = {"text": report_formats.text, "junit": report_formats.junit}
        click.echo(render.get(fmt, report_formats.markdown)(report), nl=False)
    sys.exit(EXIT[report.status])
