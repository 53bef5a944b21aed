"""Issue 10, parts 4 to 6: hostile or odd input is refused with a positioned error, in
linear time, never echoed at length; literal secrets anywhere in the config are refused
without flagging look-alikes; and one problem never hides another.

Each test failed on the code before this change (the regex one hung for minutes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import VALID, cli, compile_texts, errors_of
from test_grafana import compile_with_config, config_errors

from slo_compiler.diagnostics import Code, printable
from slo_compiler.source import credentials

RATIO = "    sli: {{ratio: {{errors: '{errors}', total: '{total}'}}}}\n"
HEAD = "apiVersion: slo-compiler/v1\nservice: svc\nslos:\n  - name: a\n    objective: 99\n"


def test_a_backtracking_regex_against_a_long_literal_is_linear() -> None:
    """Prometheus matches with RE2; so do the generated tests' series. Python's engine took
    seconds growing fivefold per two characters here."""
    long = "x" * 10_000
    text = HEAD + RATIO.format(
        errors=f'x_total{{a="{long}", code="5"}}', total=f'x_total{{a="{long}", a!~"(x+x+)+y"}}'
    )
    start = time.perf_counter()
    assert compile_texts(text).stats.slos == 1
    assert time.perf_counter() - start < 1.0


def test_an_integer_of_thousands_of_digits_is_a_positioned_error() -> None:
    text = HEAD.replace("objective: 99", "objective: " + "9" * 5000) + RATIO.format(
        errors='x_total{code="5"}', total="x_total"
    )
    problems = errors_of(text)
    assert any(p.code == Code.INPUT_LIMIT and (p.line, p.col) == (5, 16) for p in problems)
    assert all(len(str(p)) < 200 for p in problems), "the value is quoted as an excerpt"


def test_long_values_are_quoted_as_short_excerpts() -> None:
    token = "ghp_" + "A1b2" * 50
    text = HEAD.replace("objective: 99", f"objective: '{token}'") + RATIO.format(
        errors='x_total{code="5"}', total="x_total"
    )
    (problem,) = errors_of(text)
    assert token not in str(problem) and "(204 characters)" in str(problem)


def test_messages_print_on_one_line_in_any_locale(tmp_path: Path) -> None:
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "caf\u00e9.yaml").write_text("x: 1\n")
    bad = b"slos/bad\xff.yaml"
    (tmp_path / bad.decode("utf-8", "surrogateescape")).write_text("x: 1\n")
    result = cli("validate", cwd=tmp_path, env={"LC_ALL": "C", "LANG": "C"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "slos/bad\\xff.yaml:1:1: error[N002]" in result.stderr
    assert "slos/caf\u00e9.yaml:1:1: error[N002]" in result.stderr
    assert printable("a\nb\x1b[31m\u2028") == "a\\nb\\x1b[31m\\u2028"


def test_a_window_problem_does_not_hide_an_unreachable_tier() -> None:
    text = (
        HEAD.replace("service: svc", "service: svc\nscrape_interval: 30s")
        + "    alerting:\n      tiers:\n"
        + "        page-fast: {short_window: 1m}\n        ticket-slow: {factor: 500}\n"
        + RATIO.format(errors='x_total{code="5"}', total="x_total")
    )
    found = {(p.code, p.line) for p in errors_of(text)}
    assert found == {(Code.WINDOW, 9), (Code.TIER_UNREACHABLE, 10)}


# -- secrets in the config (part 5) --------------------------------------------------

SECRETS = [
    ("https://HOOKS.SLACK.COM/services/T000/B000/XXXXXXXX", "Slack webhook"),
    ("https://hooks.slack.com/workflows/T000/A000/123/abcdef", "Slack webhook"),
    ("xapp-1-A0123-4567-abcdef0123", "Slack token"),
    ("https://discord.com/api/v10/webhooks/123456/abcdefghijkl", "Discord webhook"),
    ("https://0123456789abcdefABCDEF01@example.org/x", "user part is a token"),
    ("https://bot:pa$$word@example.org/x", "URL with a password"),
    ("0123456789ABCDEF0123456789ABCDEF", "32-character key"),
]


@pytest.mark.parametrize(("value", "what"), SECRETS, ids=[w for _, w in SECRETS])
def test_the_detector_catches_more_shapes(value: str, what: str) -> None:
    found = credentials.literal_secret(value)
    assert found is not None and what in found


LOOK_ALIKES = [
    "PaymentService-Production-Cluster-EU-West1",  # a 42-character PagerDuty component
    "https://gravatar.example/avatar/0123456789abcdef0123456789abcdef.png",  # an MD5
    "https://git.example/org/repo/commit/3f786850e387550fdab836ed7e6dc881de23001b",
    "https://bot:$__env{PASSWORD}@example.org/x",
    "https://git@example.org/x",
]


@pytest.mark.parametrize("value", LOOK_ALIKES)
def test_the_detector_passes_look_alikes(value: str) -> None:
    assert credentials.literal_secret(value) is None


PAGERDUTY = """\
apiVersion: slo-compiler/v1
alert_engine: grafana
receivers:
  - name: oncall
    type: pagerduty
    settings:
      {setting}
routing:
  default_receiver: oncall
"""


@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ("integrationKey: 0123456789ABCDEF0123456789ABCDEF", "32-character key"),
        ("IntegrationKey: not-even-hex", "setting 'IntegrationKey'"),
        ("routing_key: 0123456789abcdef0123456789abcdef", "32-character key"),
    ],
)
def test_credential_settings_in_any_capitalisation_or_name(setting: str, what: str) -> None:
    text = PAGERDUTY.format(setting=f"integrationKey: $__env{{PD}}\n      {setting}")
    if setting.lower().startswith("integrationkey"):
        text = PAGERDUTY.format(setting=setting)
    [(line, _, code, message)] = [e for e in config_errors(text) if e[2] == "C001"]
    assert code == Code.LITERAL_SECRET and what in message and line in (7, 8)


def test_webhook_password_in_any_capitalisation() -> None:
    text = PAGERDUTY.replace("type: pagerduty", "type: webhook").format(
        setting="url: https://example.org/hook\n      Password: hunter2"
    )
    [(line, _, code, message)] = config_errors(text)
    assert (line, code) == (8, Code.LITERAL_SECRET) and "'Password'" in message


def test_credentials_outside_the_contact_points_are_refused() -> None:
    text = PAGERDUTY.format(setting="integrationKey: $__env{PD}") + (
        "grafana:\n  url: https://admin:hunter2@grafana.example\n"
        "kubernetes:\n  prometheus_config:\n    scrape_configs:\n      - job_name: x\n"
        "        basic_auth: {username: u, password: hunter2}\n"
    )
    found = [(line, code, message) for line, _, code, message in config_errors(text)]
    assert [(line, code) for line, code, _ in found] == [
        (11, Code.LITERAL_SECRET),
        (16, Code.LITERAL_SECRET),
    ]
    assert "a URL with a password" in found[0][2]
    assert "password_file" in found[1][2]


def test_env_reference_names_must_be_variable_and_secret_key_names() -> None:
    text = PAGERDUTY.format(setting="integrationKey: $__env{PD-KEY; rm}")
    [(line, _, code, message)] = config_errors(text)
    assert (line, code) == (7, Code.INVALID_VALUE) and "environment variable" in message


def test_look_alikes_pass_and_not_secret_is_the_documented_way_out() -> None:
    component = "Payment-Service-Primary-7f3Kq9ZxLm2Wv8Rt4Yp"
    setting = f"integrationKey: $__env{{PD}}\n      component: {component}"
    text = PAGERDUTY.format(setting=setting)
    [(_, _, code, _)] = config_errors(text)
    assert code == Code.LITERAL_SECRET  # random enough to look like a token...
    marked = text.replace("    settings:", "    not_secret: [component]\n    settings:")
    assert compile_with_config(marked).stats.slos == 1  # ...until marked as not secret
    refused = text.replace("    settings:", "    not_secret: [integrationKey]\n    settings:")
    assert "cannot be marked not secret" in config_errors(refused)[0][3]


def _linked_repo(tmp_path: Path, target: Path) -> Path:
    """A repository whose slos/team links to `target`, which holds one SLO file."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "slos").mkdir()
    (repo / "slos/own.yaml").write_text(VALID)
    target.mkdir(parents=True)
    (target / "team.yaml").write_text(VALID.replace("payment-service", "team-service"))
    (repo / "slos/team").symlink_to(target, target_is_directory=True)
    return repo


def test_a_linked_folder_inside_the_repository_is_read(tmp_path: Path) -> None:
    repo = _linked_repo(tmp_path, tmp_path / "repo/teams/team")
    result = cli("validate", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2 SLOs OK"


def test_a_linked_folder_outside_the_repository_is_an_error_never_zero_slos(
    tmp_path: Path,
) -> None:
    repo = _linked_repo(tmp_path, tmp_path / "elsewhere/team")
    result = cli("validate", cwd=repo)
    assert result.returncode == 1
    assert (
        "slos/team:1:1: error[Y006]: is a symlink to a folder outside the repository; "
        "it is not read" in result.stderr
    )
    loop = _linked_repo(tmp_path / "loop", tmp_path / "loop/repo/teams/team")
    (loop / "slos/up").symlink_to(loop, target_is_directory=True)
    looped = cli("validate", cwd=loop)
    assert looped.returncode == 1 and "slos/up:1:1: error[Y006]" in looped.stderr


def test_a_dangling_linked_folder_is_an_error_and_its_outputs_stay(tmp_path: Path) -> None:
    """Issue 35 item 5: the linked folder's target renamed, compile exited 0 and removed
    that service's files; now an error naming the link, generated/ untouched."""
    repo = _linked_repo(tmp_path, tmp_path / "repo/teams/team")
    compiled = cli("compile", cwd=repo)
    assert compiled.returncode == 0, compiled.stderr
    # The summary counts the subfolder's files too (it counted 1 rule file and 1 dashboard).
    assert "2 Prometheus rule files" in compiled.stdout and "2 dashboards" in compiled.stdout
    before = sorted(str(p) for p in (repo / "generated").rglob("*") if p.is_file())
    assert any("/team/" in name for name in before)
    (repo / "teams/team").rename(repo / "teams/renamed")
    result = cli("compile", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "slos/team:1:1: error[Y006]: is a symlink to "
        f"{tmp_path / 'repo/teams/team'}, which does not exist; it is not read" in result.stderr
    )
    after = sorted(str(p) for p in (repo / "generated").rglob("*") if p.is_file())
    assert after == before


def test_a_link_to_the_slo_folder_itself_is_an_error(tmp_path: Path) -> None:
    repo = _linked_repo(tmp_path, tmp_path / "repo/teams/team")
    (repo / "slos/again").symlink_to(repo / "slos", target_is_directory=True)
    result = cli("validate", cwd=repo)
    assert result.returncode == 1
    assert "slos/again:1:1: error[Y006]: is a symlink to the SLO folder itself" in result.stderr


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,<script>x</script>", "file:///etc/passwd",
     "https://", "https://ok.example/a b", "//evil.example/x", "vbscript:x"],
)  # fmt: skip
@pytest.mark.parametrize("field", ["runbook_url", "dashboard_url"])
def test_link_fields_take_http_and_https_only(field: str, link: str) -> None:
    """Issue 35 item 8: `runbook_url: javascript:...` and `dashboard_url: data:...` were
    accepted, and put on alerts and dashboards one click from a script."""
    text = VALID.replace(
        "    objective:", f"    alerting:\n      {field}: '{link}'\n    objective:", 1
    )
    [error] = errors_of(text)
    assert error.code.value == "S004" and "is not an http:// or https:// link" in error.message
    assert compile_texts(text.replace(link, "https://runbooks.example/r?a=1&b=2")).files
