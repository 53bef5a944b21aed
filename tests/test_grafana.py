"""The Grafana files: valid against the schemas in schemas/ (and the schemas strict enough
to refuse broken variants), equivalent to the Prometheus alerts, linked to real panels, and
free of literal secrets."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, VALID, rules_of, source
from jsonschema import Draft202012Validator

from slo_compiler.base.durations import parse_duration
from slo_compiler.compiler import compile_sources
from slo_compiler.diagnostics import Code, CompileError
from slo_compiler.source import credentials
from slo_compiler.source.files import Source, discover

GENERATED = ROOT / "generated"
SCHEMAS = {
    "grafana/alerting/*.rules.yaml": "grafana-alert-rules",
    "grafana/alerting/contact-points.yaml": "grafana-contact-points",
    "grafana/alerting/policies.yaml": "grafana-notification-policies",
    "grafana/dashboards/*.json": "grafana-dashboard",
    "grafana/dashboard-providers/*.yaml": "grafana-dashboard-provider",
}


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def load(path: Path) -> Any:
    return (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    )


def files(pattern: str) -> list[Path]:
    return sorted(GENERATED.glob(pattern))


@pytest.mark.parametrize(("pattern", "schema"), SCHEMAS.items())
def test_generated_grafana_files_match_their_schema(pattern: str, schema: str) -> None:
    found = files(pattern)
    assert found, f"nothing generated for {pattern}"
    check = validator(schema)
    for path in found:
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(load(path))]
        assert not problems, (path.name, problems[:5])


def test_every_grafana_file_is_covered_by_a_schema() -> None:
    covered = {p for pattern in SCHEMAS for p in files(pattern)}
    assert set((GENERATED / "grafana").rglob("*.*")) == covered


def _first(pattern: str) -> Any:
    return load(files(pattern)[0])


# Broken variants each schema must refuse: a schema that accepts them proves nothing.
BROKEN = [
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "uid 41 chars",
        lambda d: d["groups"][0]["rules"][0].update(uid="x" * 41),
    ),
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "noDataState",
        lambda d: d["groups"][0]["rules"][0].update(noDataState="Normal"),
    ),
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "for duration",
        lambda d: d["groups"][0]["rules"][0].update({"for": "1 minute"}),
    ),
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "no interval",
        lambda d: d["groups"][0].pop("interval"),
    ),
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "query without expr",
        lambda d: d["groups"][0]["rules"][0]["data"][0]["model"].pop("expr"),
    ),
    (
        "grafana/alerting/*.rules.yaml",
        "grafana-alert-rules",
        "unknown field",
        lambda d: d["groups"][0]["rules"][0].update(severity="critical"),
    ),
    (
        "grafana/alerting/contact-points.yaml",
        "grafana-contact-points",
        "literal key",
        lambda d: next(
            r for c in d["contactPoints"] for r in c["receivers"] if r["type"] == "pagerduty"
        )["settings"].update(integrationKey="0" * 32),
    ),
    (
        "grafana/alerting/contact-points.yaml",
        "grafana-contact-points",
        "unknown type",
        lambda d: d["contactPoints"][0]["receivers"][0].update(type="carrier-pigeon"),
    ),
    (
        "grafana/alerting/policies.yaml",
        "grafana-notification-policies",
        "matcher op",
        lambda d: d["policies"][0]["routes"][0]["object_matchers"][0].__setitem__(1, "=="),
    ),
    (
        "grafana/alerting/policies.yaml",
        "grafana-notification-policies",
        "root matcher",
        lambda d: d["policies"][0].update(object_matchers=[["team", "=", "x"]]),
    ),
    (
        "grafana/dashboards/*.json",
        "grafana-dashboard",
        "panel wider than the grid",
        lambda d: d["panels"][1]["gridPos"].update(w=25),
    ),
    (
        "grafana/dashboards/*.json",
        "grafana-dashboard",
        "target without refId",
        lambda d: d["panels"][1]["targets"][0].pop("refId"),
    ),
    (
        "grafana/dashboards/*.json",
        "grafana-dashboard",
        "unknown panel type",
        lambda d: d["panels"][1].update(type="graph"),
    ),
    (
        "grafana/dashboard-providers/*.yaml",
        "grafana-dashboard-provider",
        "relative path",
        lambda d: d["providers"][0]["options"].update(path="dashboards"),
    ),
]


@pytest.mark.parametrize(
    ("pattern", "schema", "what", "breaks"), BROKEN, ids=[b[2] for b in BROKEN]
)
def test_schemas_refuse_broken_files(pattern: str, schema: str, what: str, breaks: Any) -> None:
    doc = copy.deepcopy(_first(pattern))
    breaks(doc)
    assert not validator(schema).is_valid(doc), what


def _grafana_rules() -> list[dict[str, Any]]:
    return [
        r
        for p in files("grafana/alerting/*.rules.yaml")
        for g in load(p)["groups"]
        for r in g["rules"]
    ]


def _prometheus_alerts() -> dict[tuple[str, str], dict[str, Any]]:
    """Prometheus alerts by (alert name, slo_window), from wherever they are generated."""
    out = {}
    for path in files("prometheus/*.rules.yaml") + files("prometheus/tests/*.alerts.yaml"):
        for group in load(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    out[(rule["alert"], rule["labels"].get("slo_window", ""))] = rule
    return out


def _comparisons(expr: str) -> list[tuple[str, str]]:
    """(recorded series, threshold) of each `series / budget > threshold` in a condition."""
    return re.findall(r"(slo:\S+\{[^}]*\}) / [0-9.]+ > ([0-9.]+)", expr)


def test_grafana_rules_fire_on_the_prometheus_alerts_windows_and_thresholds() -> None:
    alerts = _prometheus_alerts()
    rules = _grafana_rules()
    assert len(rules) == len(alerts) > 0
    for rule in rules:
        window = rule["labels"].get("slo_window", "")
        name = rule["title"].removesuffix(f" {window}") if window else rule["title"]
        alert = alerts[(name, window)]
        queries = {q["refId"]: q for q in rule["data"]}
        condition = queries[rule["condition"]]["model"]
        assert condition["type"] == "math"
        assert parse_duration(rule["for"]) == parse_duration(alert["for"])
        assert rule["labels"] == alert["labels"]
        if not window:  # about the SLI: absent() > 0, the scrape interval > 1.5x declared
            threshold = "0" if "SLIMissing" in name else alert["expr"].rsplit(" > ", 1)[1]
            expr = alert["expr"].removesuffix(f" > {threshold}")
            assert queries["A"]["model"]["expr"] == expr
            assert condition["expression"] == f"$A > {threshold}"
            continue
        grafana = [
            (queries[ref]["model"]["expr"].removesuffix(f" / {budget}").strip(), threshold)
            for ref, threshold in re.findall(r"\$([A-Z]) > ([0-9.]+)", condition["expression"])
            for budget in [queries[ref]["model"]["expr"].rsplit(" / ", 1)[1]]
        ]
        assert grafana == _comparisons(alert["expr"]), rule["title"]


def test_rules_reference_real_queries_panels_and_unique_uids() -> None:
    dashboards = {d["uid"]: d for d in map(load, files("grafana/dashboards/*.json"))}
    rules = _grafana_rules()
    assert len({r["uid"] for r in rules}) == len(rules)
    for rule in rules:
        refs = [q["refId"] for q in rule["data"]]
        assert rule["condition"] in refs and len(set(refs)) == len(refs)
        for q in rule["data"]:
            if q["datasourceUid"] == "__expr__":
                used = set(re.findall(r"\$([A-Z])", q["model"]["expression"]))
                assert used <= set(refs) - {q["refId"]}
        panels = {p["id"]: p for p in dashboards[rule["dashboardUid"]]["panels"]}
        assert panels[rule["panelId"]]["type"] == "timeseries"
        assert rule["annotations"]["dashboard_url"].endswith(
            f"/d/{rule['dashboardUid']}?viewPanel={rule['panelId']}"
        )


def test_dashboard_panels_do_not_overlap_and_ids_are_unique() -> None:
    for dashboard in map(load, files("grafana/dashboards/*.json")):
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        cells: set[tuple[int, int]] = set()
        for p in dashboard["panels"]:
            g = p["gridPos"]
            assert g["x"] + g["w"] <= 24
            mine = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & mine, (dashboard["uid"], p["title"])
            cells |= mine


def test_burn_panel_draws_each_tier_factor() -> None:
    doc = load(GENERATED / "grafana/dashboards/payment-service.json")
    burn = next(p for p in doc["panels"] if p["title"].startswith("Burn rate"))
    steps = [s["value"] for s in burn["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, 1, 3, 6, 14.4]
    assert burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert {v["name"] for v in doc["templating"]["list"]} == {"datasource", "uri"}
    # Every panel queries through $datasource, whose default is the configured uid.
    [variable] = [v for v in doc["templating"]["list"] if v["type"] == "datasource"]
    assert variable["current"]["value"] == "prometheus" and variable["query"] == "prometheus"
    uids = {t["datasource"]["uid"] for p in doc["panels"] for t in p.get("targets", [])}
    assert uids == {"${datasource}"}


def test_no_generated_file_holds_a_literal_secret() -> None:
    for path in GENERATED.rglob("*.*"):
        found = credentials.literal_secret(path.read_text())
        assert found is None, (path, found)
    points = load(GENERATED / "grafana/alerting/contact-points.yaml")
    for point in points["contactPoints"]:
        for receiver in point["receivers"]:
            for key in ("url", "integrationKey", "token"):
                if key in receiver["settings"]:
                    assert credentials.is_reference(receiver["settings"][key])


CONFIG = """\
apiVersion: slo-compiler/v1
alert_engine: grafana
receivers:
  - name: oncall
    type: pagerduty
    settings:
      integrationKey: {key}
  - name: chat
    type: slack
    settings:
      url: {url}
routing:
  default_receiver: {default}
teams:
  payments:
    severity: {{critical: oncall}}
"""


def config_source(text: str) -> Source:
    return Source("slo-compiler.yaml", "slo-compiler.yaml", "slo-compiler", text.encode())


def compile_with_config(text: str) -> Any:
    return compile_sources([source(VALID)], config_source(text))


def config_errors(text: str) -> list[tuple[int, int, Code, str]]:
    with pytest.raises(CompileError) as info:
        compile_with_config(text)
    return [(d.line, d.col, d.code, d.message) for d in info.value.diagnostics]


OK_CONFIG = CONFIG.format(
    key="$__env{PD_KEY}", url="$__file{/etc/secrets/slack-url}", default="chat"
)


def test_a_config_with_references_compiles_and_keeps_them() -> None:
    result = compile_with_config(OK_CONFIG)
    points = yaml.safe_load(result.files["grafana/alerting/contact-points.yaml"])
    settings = {p["name"]: p["receivers"][0]["settings"] for p in points["contactPoints"]}
    assert settings == {
        "oncall": {"integrationKey": "$__env{PD_KEY}"},
        "chat": {"url": "$__file{/etc/secrets/slack-url}"},
    }
    assert result.files["grafana/alerting/contact-points.yaml"].startswith(
        b"# Generated by slo-compiler from slo-compiler.yaml."
    )


@pytest.mark.parametrize(
    ("key", "url", "where", "what"),
    [
        ("0123456789abcdef0123456789abcdef", "$__env{SLACK_URL}", (7, 23), "32-character key"),
        (
            "$__env{PD}",
            "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
            (11, 12),
            "Slack webhook",
        ),
        ("$__env{PD}", "https://example.org/hook", (11, 12), "the slack setting 'url'"),
        ("$__env{PD}", "https://u:hunter2@example.org/hook", (11, 12), "a URL with a password"),
    ],
)
def test_a_literal_secret_in_the_config_is_a_positioned_error(
    key: str, url: str, where: tuple[int, int], what: str
) -> None:
    [(line, col, code, message)] = config_errors(CONFIG.format(key=key, url=url, default="chat"))
    assert (line, col, code) == (*where, Code.LITERAL_SECRET)
    assert what in message and "$__env{NAME}" in message


def test_routes_only_to_receivers_that_exist() -> None:
    [(line, col, code, message)] = config_errors(
        CONFIG.format(key="$__env{PD}", url="$__env{U}", default="nobody")
    )
    assert (line, col, code) == (13, 21, Code.UNKNOWN_RECEIVER)
    assert "no receiver named 'nobody'" in message


def test_duplicate_receivers_and_missing_settings() -> None:
    text = OK_CONFIG.replace(
        "  - name: chat\n    type: slack\n", "  - name: oncall\n    type: slack\n"
    )
    text = text.replace("      url: $__file{/etc/secrets/slack-url}\n", "      recipient: '#x'\n")
    found = {(line, code) for line, _, code, _ in config_errors(text)}
    assert (8, Code.DUPLICATE_RECEIVER) in found
    assert (11, Code.MISSING_FIELD) in found


def test_alert_engine_decides_where_alerts_are_evaluated() -> None:
    prometheus_only = compile_sources([source(VALID)])
    grafana_only = compile_with_config(OK_CONFIG)
    both = compile_with_config(OK_CONFIG.replace("alert_engine: grafana", "alert_engine: both"))

    def alerts_in_rules(result: Any) -> int:
        return rules_of(result, "svc").count(b"- alert: ")

    assert alerts_in_rules(prometheus_only) == 6
    assert not any(p.startswith("grafana/alerting/svc") for p in prometheus_only.files)
    assert alerts_in_rules(grafana_only) == 0
    assert b"- alert: " in rules_of(grafana_only, "svc", "prometheus/tests", "alerts")
    assert "grafana/alerting/svc.rules.yaml" in grafana_only.files
    assert alerts_in_rules(both) == 6 and "grafana/alerting/svc.rules.yaml" in both.files


def test_the_example_config_compiles_as_committed() -> None:
    config = ROOT / "slo-compiler.yaml"
    result = compile_sources(discover(str(ROOT / "slos")), config_source(config.read_text()))
    assert result.config.alert_engine == "grafana"
    assert {p for p in result.files if p.startswith("grafana/alerting/")} >= {
        "grafana/alerting/contact-points.yaml",
        "grafana/alerting/policies.yaml",
    }


def test_a_team_no_route_takes_is_a_warning_naming_where_its_alerts_go() -> None:
    """Issue 34: `team: search` with routes only for payments pages the default receiver
    in silence; it is a warning at the label (an error with --strict)."""
    text = VALID.replace("team: payments", "team: search")
    result = compile_sources([source(text)], config_source(OK_CONFIG))
    [warning] = result.warnings
    assert (warning.code, warning.level) == (Code.UNROUTED, "warning")
    assert "team 'search' has no route under teams:" in warning.message
    assert "its alerts go to chat" in warning.message
    assert not compile_with_config(OK_CONFIG).warnings  # payments has its route
    with pytest.raises(CompileError) as info:
        compile_sources([source(text)], config_source(OK_CONFIG), strict=True)
    assert [d.code for d in info.value.diagnostics] == [Code.UNROUTED]
