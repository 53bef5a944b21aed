"""What the commands that ask a running Prometheus share: its address and how to reach
it (`--prometheus`, `--header`, `--ca`, `--timeout`), the time range they look at
(`--from`, `--to`, `--last`), and their exit codes: 0 pass, 1 failed, 2 usage, 3
inconclusive (no data), 4 Prometheus unreachable or an answer that is no answer; the
worst wins, in the order 4, 1, 3."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import click

from ..base.durations import parse_duration
from ..live import timespec
from ..live.client import Client, PrometheusUnreachable, QueryFailed, redact
from . import exits
from .verbosity import verbose

Decorator = Callable[[Callable[..., None]], Callable[..., None]]
T = TypeVar("T")


def headers_from_env(values: tuple[str, ...]) -> dict[str, str]:
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


def duration(text: str, option: str) -> int:
    """A duration option's seconds (0 and 0s are zero), or a usage error naming it."""
    if text.strip() in ("0", "0s"):
        return 0
    try:
        return parse_duration(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint=option) from None


def prometheus_options(timeout: str) -> Decorator:
    """--prometheus, --header, --ca and --timeout (`timeout` its default)."""
    options = [
        click.option(
            "--prometheus", "url", required=True, metavar="URL", help="Prometheus' base URL."
        ),
        click.option(
            "--header",
            "headers",
            multiple=True,
            metavar="NAME=$ENV",
            help="An HTTP header whose value is read from the environment.",
        ),
        click.option(
            "--ca", type=click.Path(exists=True, dir_okay=False), help="CA bundle for HTTPS."
        ),
        click.option(
            "--timeout",
            default=timeout,
            show_default=True,
            metavar="DURATION",
            help="Every query to Prometheus together must be answered within this; past it "
            "the command exits 4.",
        ),
    ]
    return _all(options)


def range_options(what: str, example: str) -> Decorator:
    """--from, --to and --last, for a range called `what`."""
    return _all(
        [
            click.option(
                "--from",
                "start",
                metavar="TIME",
                help=f"{what} start: RFC 3339, unix seconds, now-{example}.",
            ),
            click.option("--to", "end", metavar="TIME", help=f"{what} end (default now)."),
            click.option(
                "--last", metavar="DURATION", help=f"The {what.lower()} ending now, e.g. {example}."
            ),
        ]
    )


def _all(options: list[Decorator]) -> Decorator:
    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def span(start: str | None, end: str | None, last: str | None, step: float) -> tuple[float, float]:
    """The range the options name, looked at every `step` (the rule evaluation interval),
    or a usage error: a time that is none, or a range too long to look at."""
    try:
        return timespec.capped(*timespec.window(start, end, last, time.time()), step)
    except (timespec.TimeSpecError, ValueError) as err:
        raise click.UsageError(str(err)) from None


def said(prometheus: Client) -> None:
    """-v on a live command: how many queries the server answered, and in how long."""
    if verbose():
        spent = prometheus.timeout - (prometheus.deadline - time.monotonic())
        click.echo(
            f"{prometheus.queries} queries answered by {prometheus.display} in {spent:.1f}s",
            err=True,
        )


def answered(command: str, prometheus: Client, ask: Callable[[], T]) -> T:
    """What `ask` gets from Prometheus and makes of it, or exit 4 with one line saying why
    not. --timeout bounds all of it: each query by the client's deadline, the work
    between and after them (a replay, a report's charts) by a timer for the same one."""

    def spent(_signum: int, _frame: object) -> None:
        raise prometheus.spent()

    previous = signal.signal(signal.SIGALRM, spent)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, prometheus.deadline - time.monotonic()))
    try:
        got = ask()
        said(prometheus)
        return got
    except (PrometheusUnreachable, QueryFailed) as err:
        click.echo(f"slo-compiler {command}: {err}", err=True)
        sys.exit(exits.UNREACHABLE)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _checked_url(url: str, headers: dict[str, str]) -> str:
    """--prometheus as a usage error where it is no http(s) URL with a host (a broken
    IPv6 literal raised deep in the HTTP library), or where a user and password in it
    would silently replace an Authorization header (requests prefers the URL's)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as err:
        raise click.BadParameter(f"{redact(url)!r}: {err}", param_hint="--prometheus") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f" (did you mean 'http://{redact(url)}'?)" if "://" not in url else ""
        raise click.BadParameter(
            f"{redact(url)!r}: an http:// or https:// URL with a host{hint}",
            param_hint="--prometheus",
        )
    if "@" in parts.netloc and any(name.lower() == "authorization" for name in headers):
        raise click.BadParameter(
            "a user and password in the URL and an Authorization header: give one of them",
            param_hint="--prometheus",
        )
    return url


def client(url: str, headers: tuple[str, ...], ca: str | None, timeout: str) -> Client:
    """The command's Prometheus client: its deadline starts now."""
    seconds = duration(timeout, "--timeout")
    sent = headers_from_env(headers)
    return Client(_checked_url(url, sent), headers=sent, ca_bundle=ca, timeout=seconds)
