"""`slo-compiler doctor`: what a live Prometheus says about the world each SLO assumes
(slo_compiler/live/environment.py). Exit 0 all as assumed; 1 something to fix (a metric
unknown, scraped slower than declared, a target down, a missing bucket, rules not
loaded); 4 Prometheus unreachable, an answer that is no answer, or --timeout spent."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from ..diagnostics import printable
from ..live.environment import Diagnosis, diagnose
from . import exits
from .common import format_option, inputs, plans_of, read_inputs, render, slo_arguments
from .prometheus import answered, client, prometheus_options


class _Report:
    def __init__(self, diagnoses: list[Diagnosis]) -> None:
        self.diagnoses = diagnoses

    def document(self) -> dict[str, Any]:
        return {"slos": [d.document() for d in self.diagnoses]}


def _text(report: _Report) -> str:
    lines = []
    for d in report.diagnoses:
        lines.append(f"{d.service}/{d.slo}: {'ok' if d.ok else 'PROBLEMS'}")
        for f in d.findings:
            lines.append(printable(f"  {'ok ' if f.ok else 'BAD'}  {f.what}: {f.detail}"))
    return "\n".join(lines) + "\n"


@click.command("doctor")
@slo_arguments
@inputs
@prometheus_options("2m")
@format_option(
    ("text", "json"),
    "A line per check, or JSON.",
)
def doctor(
    slo: tuple[str, ...],
    slos: str,
    config: str | None,
    fmt: str,
    **server: Any,
) -> None:
    """Measure, per SLO, what the rules and the live commands assume: each metric the
    SLI reads known (else the closest known names) and its series now, the real scrape
    interval against the declared one, the targets exporting the SLI up now, the
    histogram's bucket at the threshold, the compiled rules loaded and how much of the
    period they have recorded, and what the rules read a minute.

    \b
    slo-compiler doctor --prometheus http://prometheus:9090 payment-service
    """
    read = read_inputs(slos, config)
    result, plans = plans_of(read, slo)
    prometheus = client(**server)
    now, interval = time.time(), result.config.rule_interval
    report = _Report(
        answered(
            "doctor", prometheus, lambda: [diagnose(prometheus, p, now, interval) for p in plans]
        )
    )
    click.echo(render(report, fmt, {"text": _text}), nl=False)
    if not all(d.ok for d in report.diagnoses):
        sys.exit(exits.FAILED)
