"""What `slo-compiler init` writes: a team's SLO repository that passes `check` and its own
CI from the first commit. Pure: the files as text, from where slo-compiler itself comes
from (`Pin`), so the CI workflow and the pre-commit hook install the very release that
wrote them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_GITHUB = re.compile(r"github\.com[:/](?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Pin:
    """Where slo-compiler is cloned from and at which commit; None where the installed
    copy does not say (a wheel of unknown origin): the files then hold placeholders."""

    url: str | None = None
    commit: str | None = None

    @property
    def known(self) -> bool:
        return self.url is not None and self.commit is not None

    @property
    def action(self) -> str | None:
        """`owner/name@commit` for `uses:`, where the repository is on GitHub."""
        found = _GITHUB.search(self.url or "")
        return f"{found['repo']}@{self.commit}" if found and self.commit else None


EXAMPLE_SLOS = """\
# yaml-language-server: $schema=../schemas/slo.schema.json
# One file per service: its SLOs, each an objective over a period, measured by an SLI
# (how good and bad events are counted in Prometheus). The three kinds of SLI are shown
# below: keep the ones that fit your service, change the selectors to its metrics, and
# delete the rest. `slo-compiler explain` shows what each SLO will alert on.
apiVersion: slo-compiler/v1
service: example-service
labels: {team: example}             # the config's teams route alerts by this label
scrape_interval: 1m                 # how often Prometheus scrapes the service (its default)
slos:
  # Availability: the share of requests that do not fail, from two counters.
  - name: availability
    description: Requests that do not fail on the server side
    objective: 99.9                 # percent of good events over the period
    period: 30d
    sli:
      ratio:
        errors: http_requests_total{service="example-service", code=~"5.."}
        total: http_requests_total{service="example-service"}

  # Latency: the share of requests served within a threshold, from a histogram. The
  # threshold (seconds) must be one of the histogram's bucket boundaries (its `le`).
  - name: latency
    description: Requests served within half a second
    objective: 99
    period: 30d
    sli:
      latency:
        histogram: http_request_duration_seconds{service="example-service"}
        threshold: 0.5

  # Anything else: an error ratio in PromQL, with {{window}} where the range goes.
  - name: homepage-probe
    description: Probes of the home page that succeed
    objective: 99.5
    period: 30d
    sli:
      raw:
        error_ratio: 1 - avg_over_time(probe_success{job="blackbox", instance="https://example.com/"}[{{window}}])
"""

CONFIG = """\
# yaml-language-server: $schema=schemas/config.schema.json
# How this repository's SLO alerts are evaluated and routed.
apiVersion: slo-compiler/v1

# Who evaluates the burn-rate alerts: prometheus (rules, for an Alertmanager), grafana
# (Grafana-managed rules on the recorded series), or both (a migration).
alert_engine: prometheus

# How often your Prometheus evaluates rules (its global evaluation_interval).
evaluation_interval: 1m

# Where alerts go. Secrets come from the environment ($__env{NAME}) or files
# ($__file{/path}), never from this file. Uncomment, name your receivers, and add
# `alertmanager: {}` to write generated/alertmanager/alertmanager.yml from them.
# receivers:
#   - name: oncall
#     type: pagerduty
#     settings: {integrationKey: $__env{PAGERDUTY_INTEGRATION_KEY}}
#   - name: team-channel
#     type: slack
#     settings: {url: $__env{SLACK_WEBHOOK_URL}}
# routing:
#   default_receiver: team-channel
# teams:
#   example:
#     severity: {critical: oncall}    # pages to the on-call, the rest to the channel
"""

GITIGNORE = """\
.venv/
__pycache__/
"""


def _install(pin: Pin) -> str:
    url = pin.url or "REPO"
    return f'"slo-compiler @ git+{url}@{pin.commit or "COMMIT"}"'


def workflow(pin: Pin) -> str:
    """The GitHub workflow: the pinned action where slo-compiler's repository is on
    GitHub, else the same check installed with pip from its git URL."""
    head = (
        "# Fails when generated/ is not what slos/ compile to, or when promtool rejects the\n"
        "# rules or their tests. The slo-compiler commit is pinned: upgrading is a change\n"
        "# of this file, reviewed like any other.\n"
        "name: slo\non: [push, pull_request]\njobs:\n  slo:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
    )
    if pin.action:
        check = f"      - uses: {pin.action}   # slo-compiler check --strict\n"
    else:
        reach = (
            ""
            if pin.url and not pin.url.startswith("file:")
            else "      # Replace REPO (or a file:// URL) with where CI can clone slo-compiler.\n"
        )
        check = (
            f"{reach}      - run: python3 -m venv .venv && .venv/bin/pip install -q "
            f"{_install(pin)}\n"
            "      - run: .venv/bin/slo-compiler check --strict\n"
        )
    return (
        head
        + check
        + (
            "      - run: sudo apt-get update && sudo apt-get install -y prometheus\n"
            "      - run: promtool check rules generated/prometheus/*.rules.yaml\n"
            "      - run: cd generated/prometheus/tests && promtool test rules *.test.yaml\n"
        )
    )


def pre_commit(pin: Pin) -> str:
    return (
        "# Before each commit: fail when generated/ is stale (slo-compiler-compile instead\n"
        "# recompiles it). Install with `pre-commit install`.\n"
        "repos:\n"
        f"  - repo: {pin.url or 'REPO'}\n"
        f"    rev: {pin.commit or 'COMMIT'}\n"
        "    hooks:\n"
        "      - id: slo-compiler-check\n"
    )


def readme(pin: Pin) -> str:
    return f"""\
# Service-level objectives

The SLOs of our services, compiled by [slo-compiler]({pin.url or "REPO"}) into everything
Prometheus and Grafana need to measure them and page on them.

* `slos/` - one file per service: each SLO's objective, period and SLI. Edit these.
* `slo-compiler.yaml` - who evaluates the alerts, and where they go.
* `generated/` - the rules, their tests, dashboards and alerting files, compiled from
  the two above. Never edited by hand; committed, so that review shows what a change does.
* `schemas/` - JSON Schemas for editors (the first line of each SLO file names them).

## Change an SLO

```sh
python3 -m venv .venv && .venv/bin/pip install -q {_install(pin)}
.venv/bin/slo-compiler compile           # slos/ -> generated/
.venv/bin/slo-compiler explain           # what each SLO alerts on, and when
git add slos generated && git commit
```

CI (`.github/workflows/slo.yaml`) fails when `generated/` is not what `slos/` compile to,
and runs promtool on the rules and their tests; `pre-commit install` checks the same
before each commit.
"""


def files(pin: Pin) -> dict[str, str]:
    """Every file of the repository but generated/ and schemas/ (the compile writes
    those), by path."""
    return {
        "slos/example-service.yaml": EXAMPLE_SLOS,
        "slo-compiler.yaml": CONFIG,
        ".github/workflows/slo.yaml": workflow(pin),
        ".pre-commit-config.yaml": pre_commit(pin),
        ".gitignore": GITIGNORE,
        "README.md": readme(pin),
    }
