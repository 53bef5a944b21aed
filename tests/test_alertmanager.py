"""Issue 39: Alertmanager's configuration from the config's receivers and routing, checked
by the real amtool (check-config, config routes test) against `explain` and the Grafana
policies compiled from the same config, and a page delivered end to end by a real
Prometheus and a real Alertmanager."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, cli, require_tool

from slo_compiler.compiler import compile_sources
from slo_compiler.rules.ir import AlertRule
from slo_compiler.source.files import Source

# The example config under the Prometheus engine with an alertmanager section. The
# platform's Discord channel is reached through Discord's Slack-compatible endpoint:
# Alertmanager 0.25 reads no Discord webhook URL from a file.
EXAMPLE = (ROOT / "slo-compiler.yaml").read_text()
CONFIG = (
    EXAMPLE.replace("alert_engine: grafana", "alert_engine: prometheus").replace(
        "type: discord", "type: slack"
    )
    + "alertmanager: {}\n"
)


def _compile(work: Path, config: str, *extra: str) -> Path:
    (work / "slos").mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "slos").glob("*.yaml"):
        (work / "slos" / path.name).write_bytes(path.read_bytes())
    (work / "slo-compiler.yaml").write_text(config)
    done = cli("compile", "-q", *extra, cwd=work)
    assert done.returncode == 0, done.stderr
    return work / "generated"


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("amtool"), *args], capture_output=True, text=True, timeout=60
    )


def test_the_example_compiles_to_a_configuration_amtool_accepts(tmp_path: Path) -> None:
    generated = _compile(tmp_path, CONFIG)
    checked = _amtool("check-config", str(generated / "alertmanager/alertmanager.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " - 4 receivers" in checked.stdout and " - 1 inhibit rules" in checked.stdout
    doc = yaml.safe_load((generated / "alertmanager/alertmanager.yml").read_text())
    pagerduty = next(r for r in doc["receivers"] if r["name"] == "pagerduty-oncall")
    # The secret as a file the Secret is mounted as, never its value or a variable.
    assert pagerduty["pagerduty_configs"][0]["routing_key_file"] == (
        "/etc/alertmanager/secrets/PAGERDUTY_INTEGRATION_KEY"
    )
    assert "$__env" not in (generated / "alertmanager/alertmanager.yml").read_text()
    summary = cli("compile", cwd=tmp_path).stdout
    assert "1 Alertmanager configuration" in summary


def _grafana_receiver(policy: dict, labels: dict[str, str]) -> str:
    """Grafana's walk of its policy tree: the first child whose matchers all hold, depth
    first; a child without a receiver keeps its parent's."""
    for child in policy.get("routes", []):
        if all(labels.get(name, "") == value for name, _, value in child["object_matchers"]):
            inner = _grafana_receiver(child, labels)
            return inner or child.get("receiver") or policy.get("receiver", "")
    return policy.get("receiver", "")


def _quoted(label: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{label}="{escaped}"'


def test_amtool_routes_every_example_alert_where_explain_and_grafana_do(tmp_path: Path) -> None:
    """One routing description, two engines: for every alert of every example SLO, the
    receiver amtool's route test finds in the generated alertmanager.yml is the one
    `explain` names and the one the Grafana policies (compiled from the same config under
    the "both" engine) send it to."""
    generated = _compile(tmp_path, CONFIG)
    both = _compile(tmp_path / "both", CONFIG.replace("engine: prometheus", "engine: both"))
    policies = yaml.safe_load((both / "grafana/alerting/policies.yaml").read_text())
    root = policies["policies"][0]
    explained = json.loads(cli("explain", "--format", "json", cwd=tmp_path).stdout)
    receivers = {
        (s["service"], s["slo"], a["alert"], a["tier"]): a["receiver"]
        for s in explained["slos"]
        for a in s["alerts"]
    }
    result = compile_sources(
        [Source(str(p), p.name, p.stem, p.read_bytes()) for p in (tmp_path / "slos").iterdir()],
        Source("c.yaml", "c.yaml", "c", CONFIG.encode()),
        ["prometheus"],
    )
    config_file = str(generated / "alertmanager/alertmanager.yml")
    seen = 0
    for plan in (s for p in result.plans for s in p.slos):
        for rule in (r for r in plan.rules if isinstance(r, AlertRule)):
            labels = {**plan.selector_labels, **dict(rule.labels), "alertname": rule.alert}
            routed = _amtool(
                "config",
                "routes",
                "test",
                f"--config.file={config_file}",
                *(_quoted(k, v) for k, v in sorted(labels.items())),
            )
            assert routed.returncode == 0, routed.stderr
            found = routed.stdout.strip()
            tier = rule.tier.name if rule.tier else rule.check
            said = receivers[(plan.service, plan.name, rule.alert, tier)]
            assert found == said == _grafana_receiver(root, labels), (labels, found, said)
            seen += 1
    assert seen == sum(len(s["alerts"]) for s in explained["slos"]) >= 30


def test_explain_names_the_alertmanager_receiver_only_where_we_write_its_routes(
    tmp_path: Path,
) -> None:
    _compile(tmp_path, CONFIG)
    table = cli("explain", "payment-service", cwd=tmp_path).stdout
    assert re.search(r"page-fast .* pagerduty-oncall", table), table
    without = CONFIG.replace("alertmanager: {}\n", "")
    (tmp_path / "slo-compiler.yaml").write_text(without)
    table = cli("explain", "payment-service", cwd=tmp_path).stdout
    assert "Alertmanager's routes" in table and "pagerduty-oncall" not in table


SHOP = """\
apiVersion: slo-compiler/v1
service: shop
scrape_interval: 1s
labels: {team: shop}
slos:
  - name: checkout
    objective: 90
    period: 1d
    description: Checkouts that do not fail
    sli:
      ratio:
        errors: shop_requests_total{status="500"}
        total: shop_requests_total
    alerting:
      runbook_url: https://runbooks.example/shop/checkout
      tiers:
        # Above half the events bad: a page at once; above a fifth for 20s: a ticket.
        page-fast: {long_window: 20s, short_window: 4s, factor: 5, for: 0s}
        page-slow: {enabled: false}
        ticket-fast: {long_window: 20s, short_window: 4s, factor: 2, for: 20s}
        ticket-slow: {enabled: false}
"""


def _e2e_config(receiver: str, key: Path, slack: Path) -> str:
    fast = "{group_wait: 1s, group_interval: 1s}"
    return f"""\
apiVersion: slo-compiler/v1
alert_engine: prometheus
evaluation_interval: 1s
alertmanager: {{}}
receivers:
  - name: pages
    type: pagerduty
    settings:
      integrationKey: "$__file{{{key}}}"
      url: "{receiver}/pagerduty"
      severity: critical
  - name: tickets
    type: slack
    settings: {{url: "$__file{{{slack}}}", recipient: "#shop"}}
  - name: elsewhere
    type: webhook
    settings: {{url: "{receiver}/elsewhere"}}
routing:
  default_receiver: elsewhere
  group_wait: 1s
  group_interval: 1s
  page: {fast}
  ticket: {fast}
teams:
  shop: {{receiver: tickets, severity: {{critical: pages}}}}
"""


class Traffic:
    """The shop's counters, 100 requests a second, a share of them failing as `bad` says
    from the moment it is set; read by Prometheus as an exporter."""

    def __init__(self) -> None:
        import threading
        import time

        self._lock, self._clock = threading.Lock(), time.monotonic
        self._last, self.total, self.errors, self.bad = self._clock(), 0.0, 0.0, 0.0

    def set(self, bad: float) -> None:
        with self._lock:
            self._advance()
            self.bad = bad

    def _advance(self) -> None:
        now = self._clock()
        self.total += 100 * (now - self._last)
        self.errors += 100 * (now - self._last) * self.bad
        self._last = now

    def exposition(self) -> bytes:
        with self._lock:
            self._advance()
            ok = self.total - self.errors
            return (
                "# TYPE shop_requests_total counter\n"
                f'shop_requests_total{{status="200"}} {ok:.3f}\n'
                f'shop_requests_total{{status="500"}} {self.errors:.3f}\n'
            ).encode()


@pytest.mark.live
@pytest.mark.waits("alertmanager")  # a tiny exporter and two idle servers: it waits
def test_a_page_and_a_ticket_reach_their_receivers_through_real_alertmanager(
    tmp_path: Path,
) -> None:
    """The burn of a real exporter's counters, evaluated by a real Prometheus with the
    compiled rules and routed by a real Alertmanager with the compiled configuration:
    a mild burn's ticket reaches the ticket receiver (Slack-shaped) and resolves; a storm's
    page reaches the PagerDuty-shaped one with the SLO's labels, summary and runbook, its
    ticket held while the page fires; the page's resolve arrives after recovery."""
    import sys
    import threading
    import time
    import urllib.parse
    import urllib.request
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from conftest import json_server

    sys.path.insert(0, str(ROOT / "loadtest"))
    import stack

    require_tool("prometheus")
    require_tool("prometheus-alertmanager")
    traffic = Traffic()

    class Exporter(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            body = traffic.exposition()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    exporter = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=exporter.serve_forever, args=(0.05,), daemon=True).start()
    got: list[tuple[float, str, dict]] = []

    def received(path: str, form: str) -> tuple[int, dict]:
        got.append((time.monotonic(), path, json.loads(form) if form else {}))
        return 200, {"status": "success"}

    def arrived(path: str, status: str, since: float, within: float) -> dict:
        """The first notice at `path` about a firing or resolved alert since `since`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for at, where, body in list(got):
                said = body.get("event_action") or (
                    "resolved" if "RESOLVED" in json.dumps(body) else "firing"
                )
                if at >= since and where == path and said in status:
                    return body
            time.sleep(0.2)
        raise AssertionError(f"no {status} at {path} within {within}s: {got}")

    try:
        with json_server(received) as receiver:
            key, slack = tmp_path / "key", tmp_path / "slack"
            key.write_text("0123456789abcdef0123456789abcdef\n")
            slack.write_text(f"{receiver}/slack\n")
            (tmp_path / "slos").mkdir()
            (tmp_path / "slos/shop.yaml").write_text(SHOP)
            (tmp_path / "slo-compiler.yaml").write_text(_e2e_config(receiver, key, slack))
            done = cli(
                "compile", "-q", "--target", "prometheus", "--target", "alertmanager", cwd=tmp_path
            )
            assert done.returncode == 0, done.stderr
            generated = tmp_path / "generated"
            with stack.alertmanager(tmp_path, generated / "alertmanager/alertmanager.yml") as am:
                extra = (
                    f"rule_files: ['{generated}/prometheus/*.rules.yaml']\n"
                    f"alerting: {{alertmanagers: [{{static_configs: "
                    f"[{{targets: ['{am.removeprefix('http://')}']}}]}}]}}\n"
                )
                port = exporter.server_address[1]
                with stack.scraping(tmp_path, "shop", port, "1s", "1s", extra):
                    time.sleep(6)  # a few healthy scrapes first
                    assert got == [], got
                    start = time.monotonic()
                    traffic.set(0.3)  # a ticket's burn, not a page's
                    ticket = arrived("/slack", "firing", start, 90)
                    assert "shop checkout" in json.dumps(ticket)
                    traffic.set(0.0)
                    arrived("/slack", "resolved", start, 90)
                    storm = time.monotonic()
                    traffic.set(0.9)
                    page = arrived("/pagerduty", "trigger", storm, 60)
                    # Until Alertmanager holds the storm's ticket (its 20s `for` passes while
                    # the page fires), then a few group waits more: it never arrives.
                    query = urllib.parse.quote('slo_tier="ticket"')
                    tickets: list = []
                    deadline = time.monotonic() + 60
                    while not tickets and time.monotonic() < deadline:
                        time.sleep(0.5)
                        with urllib.request.urlopen(f"{am}/api/v2/alerts?filter={query}") as got_:
                            tickets = json.load(got_)
                    time.sleep(4)
                    held = [b for at, where, b in got if at >= storm and where == "/slack"]
                    assert held == [], held
                    assert [t["status"]["state"] for t in tickets] == ["suppressed"], tickets
                    assert tickets[0]["status"]["inhibitedBy"], tickets
                    traffic.set(0.0)
                    arrived("/pagerduty", "resolve", storm, 90)
    finally:
        exporter.shutdown()
        exporter.server_close()
    text = json.dumps(page)
    assert page["routing_key"] == "0123456789abcdef0123456789abcdef"
    assert page["payload"]["summary"].startswith("shop checkout: error budget burning")
    for said in (
        "slo = checkout",
        "slo_service = shop",
        "slo_tier = page",
        "https://runbooks.example/shop/checkout",
    ):
        assert said in text, (said, text)
    assert not [p for _, p, _ in got if p == "/elsewhere"], got


BASE = """\
# The team's own Alertmanager configuration, by hand.
global: {resolve_timeout: 5m}
route:
  receiver: ops-mail
  group_by: [alertname]
  routes:
    - matchers: ['job="node"']
      receiver: ops-pager
receivers:
  - name: ops-mail
  - name: ops-pager
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="info"']
    equal: [instance]
"""


def test_a_hand_written_configuration_is_kept_and_takes_our_tree_first(tmp_path: Path) -> None:
    """alertmanager.base: every route, receiver and inhibition of the team's own file kept
    (the file itself untouched), the SLO alerts' tree the first child of its root, so an
    SLO alert reaches our receivers and a node alert still reaches theirs."""
    (tmp_path / "alertmanager.yml").write_text(BASE)
    config = CONFIG.replace("alertmanager: {}", "alertmanager: {base: alertmanager.yml}")
    generated = _compile(tmp_path, config)
    merged = generated / "alertmanager/alertmanager.yml"
    assert (tmp_path / "alertmanager.yml").read_text() == BASE
    assert merged.read_text().startswith(
        "# Generated by slo-compiler from slo-compiler.yaml, alertmanager.yml."
    )
    checked = _amtool("check-config", str(merged))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    doc, base = yaml.safe_load(merged.read_text()), yaml.safe_load(BASE)
    assert doc["global"] == base["global"] and doc["route"]["receiver"] == "ops-mail"
    assert doc["route"]["routes"][1:] == base["route"]["routes"]
    assert doc["receivers"][:2] == base["receivers"] and len(doc["receivers"]) == 6
    assert doc["inhibit_rules"][0] == base["inhibit_rules"][0] and len(doc["inhibit_rules"]) == 2

    def routed(*labels: str) -> str:
        done = _amtool("config", "routes", "test", f"--config.file={merged}", *labels)
        return done.stdout.strip()

    page = ('slo_service="payment-service"', 'team="payments"', 'severity="critical"')
    assert routed(*page, 'slo_tier="page"') == "pagerduty-oncall"
    assert routed('slo_service="x"') == "discord-platform"  # an SLO alert of no team
    assert routed('job="node"') == "ops-pager" and routed('job="db"') == "ops-mail"


def test_a_receiver_named_twice_across_the_two_files_is_an_error_in_theirs(tmp_path: Path) -> None:
    (tmp_path / "alertmanager.yml").write_text(BASE.replace("ops-pager", "pagerduty-oncall"))
    config = CONFIG.replace("alertmanager: {}", "alertmanager: {base: alertmanager.yml}")
    (tmp_path / "slo-compiler.yaml").write_text(config)
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    done = cli("compile", cwd=tmp_path)
    assert done.returncode == 1 and not (tmp_path / "generated").exists()
    assert "alertmanager.yml:11:11: error[C003]: receiver 'pagerduty-oncall' is also one of" in (
        done.stderr
    )


def test_what_alertmanager_cannot_read_from_a_file_is_refused_where_it_is_written(
    tmp_path: Path,
) -> None:
    """Alertmanager has no $__env{}: a secret it can read only inline is refused at the
    setting (Debian's 0.25 has no webhook_url_file for Discord), as is a setting it has no
    field for and a mail relay's password written out; every one at once."""
    config = (
        EXAMPLE.replace("alert_engine: grafana", "alert_engine: prometheus")
        .replace(
            '      recipient: "#payments-alerts"',
            '      recipient: "#payments-alerts"\n      title: x',
        )
        .replace("\nrouting:", EXTRA_RECEIVERS + "\nrouting:", 1)
        + "alertmanager:\n  smtp: {smarthost: 'mail:25', from: a@b.c, auth_password: hunter2x}\n"
    )
    (tmp_path / "slo-compiler.yaml").write_text(config)
    shutil.copytree(ROOT / "slos", tmp_path / "slos")
    done = cli("compile", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(
        "slo-compiler.yaml:28:12: error[C005]: Alertmanager 0.25 reads a "
        "discord webhook_url only written into its configuration"
    )
    assert "webhook_url_file works from 0.28" in lines[0]
    assert any(
        re.match(r"slo-compiler\.yaml:\d+:14: error\[C005\]: .*no field for the slack", line)
        for line in lines
    ), lines
    assert any("error[C001]: the mail relay's password" in line for line in lines), lines
    assert any("error[C005]: 'maxAlerts' must be a whole number, got 'many'" in x for x in lines)
    # A release that reads it: written as a file, never the variable.
    newer = config.replace("  smtp:", "  version: '0.28'\n  smtp:").replace(
        "hunter2x", "'$__env{SMTP}'"
    )
    newer = newer.replace("\n      title: x", "").replace("maxAlerts: many", "maxAlerts: 5")
    (tmp_path / "slo-compiler.yaml").write_text(newer)
    assert cli("compile", "-q", cwd=tmp_path).returncode == 0
    doc = yaml.safe_load((tmp_path / "generated/alertmanager/alertmanager.yml").read_text())
    discord = next(r for r in doc["receivers"] if r["name"] == "discord-platform")
    assert discord["discord_configs"][0]["webhook_url_file"] == (
        "/etc/alertmanager/secrets/DISCORD_WEBHOOK_URL"
    )
    assert doc["global"]["smtp_auth_password_file"] == "/etc/alertmanager/secrets/SMTP"
    receivers = {r["name"]: r for r in doc["receivers"]}
    assert receivers["hook"]["webhook_configs"][0]["max_alerts"] == 5
    # Grafana's ";" between addresses is Alertmanager's ",".
    assert receivers["mail"]["email_configs"][0]["to"] == "a@example.com, b@example.com"


EXTRA_RECEIVERS = """
  - name: hook
    type: webhook
    settings: {url: "http://relay.monitoring:8080/hook", maxAlerts: many}
  - name: mail
    type: email
    settings: {addresses: "a@example.com;b@example.com"}
"""
HOSTILE = 'pay"ments {{ .X }} $HOME \\ x'


def test_hostile_team_names_and_settings_stay_themselves(tmp_path: Path) -> None:
    """A team name with a quote, a backslash, `{{` and `$` routes by exactly that value in
    Alertmanager's matcher syntax; a Slack channel with a template action is sent as
    written (escaped for Alertmanager's Go templates), not run."""
    hostile = json.dumps(HOSTILE)
    config = CONFIG.replace("  payments:\n", f"  {hostile}:\n").replace(
        'recipient: "#payments-alerts"', f"recipient: {json.dumps('#{{ .Receiver }}')}"
    )
    generated = _compile(tmp_path, config)
    merged = generated / "alertmanager/alertmanager.yml"
    checked = _amtool("check-config", str(merged))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    routed = _amtool(
        "config",
        "routes",
        "test",
        f"--config.file={merged}",
        _quoted("team", HOSTILE),
        'severity="warning"',
    )
    assert routed.stdout.strip() == "slack-payments", routed.stdout + routed.stderr
    doc = yaml.safe_load(merged.read_text())
    slack = next(r for r in doc["receivers"] if r["name"] == "slack-payments")
    assert slack["slack_configs"][0]["channel"] == '#{{ "{{" }} .Receiver }}'
