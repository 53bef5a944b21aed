"""Issue 35: what the live commands print when their input or the server is hostile, each
reproduced on main before its fix.

* Prometheus' error text (`errorType`, `error`) and usage errors quoting what was typed
  print through the one printable(): no escape sequence clears or retitles a terminal, no
  bidi override reorders a line, no newline forges one (item 4);
* a time that is no number (`nan`, `-inf`) and a URL that does not parse are usage errors,
  not tracebacks; `?token=` is redacted like a password; a user and password in the URL
  beside an Authorization header is refused, not silently replaced (item 8);
* a range too long to look at is refused before anything is built for it (item 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cli, json_server

HOSTILE = "bad\x1b[2J\x1b]0;owned\x07\u202eevil\n::error::forged"


@pytest.fixture
def refusing() -> Iterator[str]:
    """Every request answered with a Prometheus error whose text is hostile."""
    error = {"status": "error", "errorType": HOSTILE, "error": HOSTILE}
    with json_server(lambda _path, _query: (422, error)) as url:
        yield url


@pytest.fixture
def shop(outage_shop: Path) -> Path:
    return outage_shop


def _clean(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\u202e"), repr(text)
    assert "::error::forged" not in text.replace("\\n::error::forged", ""), repr(text)


@pytest.mark.parametrize("command", ["status", "doctor", "backtest", "report", "verify"])
def test_the_servers_error_text_is_printed_escaped(refusing: str, shop: Path, command: str) -> None:
    span = [] if command in ("status", "doctor") else ["--last", "1h"]
    span += ["--settle", "0s"] if command == "verify" else []
    result = cli(command, "--prometheus", refusing, *span, cwd=shop)
    assert result.returncode == 4, result.stdout + result.stderr
    _clean(result.stdout + result.stderr)
    assert "\\x1b[2J" in result.stderr and "\\u202e" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_usage_errors_quote_what_was_typed_escaped(shop: Path) -> None:
    result = cli("report", "--prometheus", "http://127.0.0.1:1", "--from", HOSTILE, cwd=shop)
    assert result.returncode == 2, result.stderr
    _clean(result.stderr)
    assert "'bad\\x1b[2J\\x1b]0;owned\\x07\\u202eevil\\n::error::forged' is not a time" in (
        result.stderr
    )


@pytest.mark.parametrize("time", ["nan", "-inf", "inf", "NaN"])
@pytest.mark.parametrize("command", ["report", "backtest", "verify"])
def test_a_time_that_is_no_number_is_a_usage_error(shop: Path, command: str, time: str) -> None:
    result = cli(command, "--prometheus", "http://127.0.0.1:1", "--from", time, cwd=shop)
    assert result.returncode == 2, result.stderr
    assert f"'{time}' is not a time" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://u:p@[::1", "'http://***': Invalid IPv6 URL"),
        ("ftp://prometheus:9090", "an http:// or https:// URL with a host"),
        ("http://", "an http:// or https:// URL with a host"),
    ],
)
def test_a_url_that_does_not_parse_is_a_usage_error(shop: Path, url: str, said: str) -> None:
    result = cli("status", "--prometheus", url, cwd=shop)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr
    assert "u:p" not in result.stderr


def test_a_token_in_the_url_is_redacted(shop: Path) -> None:
    url = "http://127.0.0.1:1/prom?token=S3CRET&x=1#frag"
    result = cli("status", "--prometheus", url, "--timeout", "3s", cwd=shop)
    assert result.returncode == 4, result.stderr
    assert "S3CRET" not in result.stderr and "token=***&x=***" in result.stderr, result.stderr


def test_url_credentials_beside_an_authorization_header_are_refused(shop: Path) -> None:
    result = cli(
        "status",
        "--prometheus",
        "http://alice:pw@127.0.0.1:1",
        "--header",
        "Authorization=$AUTH",
        cwd=shop,
        env={"AUTH": "Bearer t0ken"},
    )
    assert result.returncode == 2, result.stderr
    assert "give one of them" in result.stderr and "t0ken" not in result.stderr


@pytest.mark.parametrize(
    "span",
    [["--last", "100000d"], ["--from", "1970-01-01T00:00:00Z"], ["--quarter", "2026-Q4"]],
)
def test_a_range_too_long_to_look_at_is_refused_at_once(shop: Path, span: list[str]) -> None:
    """At a 1s evaluation interval a quarter is 7.9M evaluations; before, the list of every
    step was built first (1.4 GB for 1970 to now at 15s)."""
    (shop / "slo-compiler.yaml").write_text(
        "apiVersion: slo-compiler/v1\nevaluation_interval: 1s\n"
    )
    result = cli(
        "report", "--prometheus", "http://127.0.0.1:1", "--config", "slo-compiler.yaml", *span,
        cwd=shop,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "the largest range at this evaluation interval is 11d13h46m40s" in result.stderr


def test_the_html_report_escapes_label_values_and_reasons() -> None:
    """A label value from Prometheus with ESC and a bidi override: HTML-escaped text
    still reorders what the reader sees; printable first, then the markup."""
    from slo_compiler.live.report import GroupReport, Report, SloReport, Step
    from slo_compiler.live.report_formats import html_page

    group = GroupReport({"route": "<b>" + HOSTILE}, [Step(3600.0, 100.0, 1.0)])
    slo = SloReport("shop", "checkout", 99.0, 0.01, groups=[group], reasons=[HOSTILE])
    page = html_page(Report("http://prometheus", 0.0, 3600.0, "", "UTC", 3600, [slo]))
    _clean(page)
    assert "&lt;b&gt;bad\\x1b[2J" in page and "<b>bad" not in page


def test_compile_diagnostics_escape_bidi_overrides(tmp_path: Path) -> None:
    """A file named with U+202E and a bad value quoting one: the diagnostics' printable
    escaped controls but not the bidi ranges that the live reports' had."""
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "pay\u202eelif.yaml").write_text("service: [\u202e\n")
    result = cli("validate", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "\u202e" not in result.stdout + result.stderr
    assert "pay\\u202eelif.yaml" in result.stdout + result.stderr


def test_the_timeout_bounds_the_work_between_and_after_queries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 35 item 2: --timeout bounded each query, not the work around them (a replay
    or a report's charts ran on past it). A command's work that outlasts its deadline
    ends with exit 4 and the one line a spent deadline prints."""
    import time

    from slo_compiler.cli.prometheus import answered
    from slo_compiler.live.client import Client

    started = time.monotonic()
    with pytest.raises(SystemExit) as stop:
        answered("report", Client("http://127.0.0.1:1", timeout=0.5), lambda: time.sleep(10))
    assert stop.value.code == 4 and time.monotonic() - started < 3
    assert capsys.readouterr().err.startswith(
        "slo-compiler report: http://127.0.0.1:1: no answer within --timeout"
    )
