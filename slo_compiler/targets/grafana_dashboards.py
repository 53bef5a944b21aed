"""Grafana dashboards (JSON, Grafana 10.2+): one per service under grafana/dashboards/, and
the provider that loads them, grafana/dashboard-providers/slo-compiler.yaml.

Per SLO, a row: the SLI over the period against the objective, the error budget left,
the burn rate over every alert window with each tier's factor drawn as a threshold line,
the SLI over time against the objective, the budget burn-down over the period, and the
state of the SLO's alerts. Every panel reads the recorded series, so a dashboard costs
Prometheus no more than the rules already do. Grouped SLOs get a template variable per
grouping label. JSON has no comments: the generated-file header is the description.
"""

from __future__ import annotations

from typing import Any

from ..base.durations import format_duration
from ..emit.text import TOOL, header_line, json_text, yaml_file
from ..emit.tree import Deferred
from ..rules.burnrate import BASE_RATE_WINDOW, decimal_str
from ..rules.ids import dashboard_uid, panel_id
from ..rules.ir import SloPlan, SourcePlan
from ..rules.plan import BUDGET_REMAINING, OBJECTIVE, ratio_metric
from ..rules.promql import Matcher, series
from ..source.config import Config
from . import Expression, Files, Folder, Kind, Output, Target

# What every panel and query names: the dashboard's datasource variable.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

FOLDER = "grafana/dashboards"
PROVIDER = "grafana/dashboard-providers/slo-compiler.yaml"
SCHEMA_VERSION = 38  # Grafana 10.2
ROW_HEIGHT = 17
TIER_COLORS = ("red", "orange", "yellow", "blue")


def dashboard_path(plan: SourcePlan) -> str:
    return f"{FOLDER}/{plan.stem}.json"


class _Panels:
    """The panels of one SLO's row."""

    def __init__(self, slo: SloPlan, index: int, config: Config) -> None:
        self.slo, self.index = slo, index
        self.datasource = DATASOURCE
        self.y = index * ROW_HEIGHT
        self.expressions: list[str] = []

    def query(self, metric: str, suffix: str = "") -> str:
        labels = series(metric, self.slo.selector_labels)
        grouped = labels
        for name in self.slo.group_by:
            grouped = grouped.with_matcher(Matcher(name, "=~", f"${name}"))
        return grouped.render() + suffix

    def legend(self, text: str) -> str:
        groups = " ".join(f"{{{{{g}}}}}" for g in self.slo.group_by)
        return f"{text} {groups}".strip()

    def target(self, ref: str, expr: str, legend: str) -> dict[str, Any]:
        self.expressions.append(expr)
        return {
            "refId": ref,
            "datasource": self.datasource,
            "editorMode": "code",
            "expr": expr,
            "legendFormat": legend,
            "range": True,
        }

    def panel(
        self, role: str, kind: str, title: str, grid: tuple[int, int, int, int], **extra: Any
    ) -> dict[str, Any]:
        x, y, w, h = grid
        return {
            "id": panel_id(self.index, role),
            "type": kind,
            "title": title,
            "datasource": self.datasource,
            "gridPos": {"h": h, "w": w, "x": x, "y": self.y + y},
            **extra,
        }

    def row(self) -> dict[str, Any]:
        s = self.slo
        return {
            "id": panel_id(self.index, "row"),
            "type": "row",
            "title": f"{s.name}: {decimal_str(s.objective)}% over {format_duration(s.period)}",
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        }

    def stat(self, role: str, title: str, expr: str, steps: list[dict[str, Any]], x: int) -> dict:
        return self.panel(
            role,
            "stat",
            title,
            (x, 1, 4, 8),
            targets=[self.target("A", expr, self.legend(""))],
            fieldConfig={
                "defaults": {
                    "unit": "percentunit",
                    "decimals": 3,
                    "thresholds": {"mode": "absolute", "steps": steps},
                },
                "overrides": [],
            },
            options={
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value",
                "graphMode": "none",
                "justifyMode": "auto",
                "orientation": "auto",
                "textMode": "auto",
            },
        )

    def timeseries(
        self,
        role: str,
        title: str,
        grid: tuple[int, int, int, int],
        targets: list[dict[str, Any]],
        unit: str,
        steps: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return self.panel(
            role,
            "timeseries",
            title,
            grid,
            targets=targets,
            fieldConfig={
                "defaults": {
                    "unit": unit,
                    "custom": {
                        "drawStyle": "line",
                        "lineWidth": 1,
                        "fillOpacity": 0,
                        "showPoints": "never",
                        "spanNulls": False,
                        "thresholdsStyle": {"mode": "dashed" if len(steps) > 1 else "off"},
                    },
                    "thresholds": {"mode": "absolute", "steps": steps},
                },
                "overrides": [],
            },
            options={
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"},
            },
        )

    def all(self) -> list[dict[str, Any]]:
        """The SLO's row and its panels, in the order they are laid out."""
        return [
            self.row(),
            *self._stats(),
            self._burn(),
            *self._over_time(),
            self._alerts(),
        ]

    def _stats(self) -> list[dict[str, Any]]:
        """The SLI over the period against the objective, and the budget left."""
        s = self.slo
        objective = float(decimal_str(s.objective / 100))
        return [
            self.stat(
                "sli",
                f"SLI over {format_duration(s.period)} (objective {decimal_str(s.objective)}%)",
                "1 - " + self.query(ratio_metric(s.period)),
                [{"color": "red", "value": None}, {"color": "green", "value": objective}],
                0,
            ),
            self.stat(
                "budget",
                "Error budget remaining",
                self.query(BUDGET_REMAINING),
                [
                    {"color": "red", "value": None},
                    {"color": "orange", "value": 0},
                    {"color": "green", "value": 0.25},
                ],
                4,
            ),
        ]

    def _burn(self) -> dict[str, Any]:
        """The burn rate of every alert window, the tiers' factors as thresholds: the
        highest factor (the fastest page) red, then down the list of colours."""
        s = self.slo
        budget = decimal_str(s.budget)
        windows = sorted({w for t in s.tiers for w in (t.long_window, t.short_window)})
        factors = sorted({t.factor for t in s.tiers}, reverse=True)
        steps = [
            {"color": TIER_COLORS[min(i, len(TIER_COLORS) - 1)], "value": float(f)}
            for i, f in enumerate(factors)
        ]
        return self.timeseries(
            "burn",
            "Burn rate per alert window (dashed: tier factors)",
            (8, 1, 16, 8),
            [
                self.target(
                    chr(ord("A") + i),
                    self.query(ratio_metric(w), f" / {budget}"),
                    self.legend(format_duration(w)),
                )
                for i, w in enumerate(windows)
            ],
            "suffix:x",
            [{"color": "green", "value": None}, *sorted(steps, key=lambda step: step["value"])],
        )

    def _over_time(self) -> list[dict[str, Any]]:
        """The SLI against the objective, and the budget burning down over the period."""
        s = self.slo
        return [
            self.timeseries(
                "sli_over_time",
                "SLI against the objective",
                (0, 9, 8, 8),
                [
                    self.target(
                        "A",
                        "1 - " + self.query(ratio_metric(s.windows[0])),
                        self.legend(f"SLI ({format_duration(s.windows[0])})"),
                    ),
                    self.target("B", self.query(OBJECTIVE), "objective"),
                ],
                "percentunit",
                [{"color": "green", "value": None}],
            ),
            self.timeseries(
                "burn_down",
                f"Error budget left over the last {format_duration(s.period)}",
                (8, 9, 8, 8),
                [self.target("A", self.query(BUDGET_REMAINING), self.legend("budget left"))],
                "percentunit",
                [{"color": "red", "value": None}, {"color": "green", "value": 0}],
            ),
        ]

    def _alerts(self) -> dict[str, Any]:
        """The SLO's alerts, every state but no data."""
        s = self.slo
        return self.panel(
            "alerts",
            "alertlist",
            f"Alerts of {s.name}",
            (16, 9, 8, 8),
            options={
                "alertInstanceLabelFilter": series("", s.selector_labels).render(),
                "alertName": "",
                "dashboardAlerts": False,
                "groupBy": [],
                "groupMode": "default",
                "maxItems": 20,
                "sortOrder": 1,
                "stateFilter": {
                    "error": True,
                    "firing": True,
                    "noData": False,
                    "normal": True,
                    "pending": True,
                },
                "viewMode": "list",
            },
        )


def _datasource_variable(config: Config) -> dict[str, Any]:
    """`$datasource`, defaulting to the configured uid: every panel queries through it, so
    a dashboard imported into a Grafana whose Prometheus has another uid works once the
    datasource is picked, as community dashboards do."""
    uid = config.grafana.datasource_uid
    return {
        "type": "datasource",
        "name": "datasource",
        "label": "Data source",
        "query": "prometheus",
        "current": {"text": uid, "value": uid},
        "hide": 0,
        "refresh": 1,
        "includeAll": False,
        "multi": False,
    }


def _variables(plan: SourcePlan, config: Config) -> list[dict[str, Any]]:

    names = sorted({g for s in plan.slos for g in s.group_by})
    service = plan.slos[0].service if plan.slos else ""
    out = [_datasource_variable(config)]
    for name in names:
        # The one label-value escaper, as everywhere PromQL is written.
        selector = series(ratio_metric(BASE_RATE_WINDOW), {"slo_service": service}).render()
        query = f"label_values({selector}, {name})"
        out.append(
            {
                "type": "query",
                "name": name,
                "label": name,
                "datasource": DATASOURCE,
                "definition": query,
                "query": {"query": query, "refId": "StandardVariableQuery"},
                "refresh": 2,
                "includeAll": True,
                "allValue": ".*",
                "multi": True,
                "sort": 1,
                "current": {},
                "hide": 0,
            }
        )
    return out


def dashboard(plan: SourcePlan, config: Config) -> tuple[dict[str, Any], list[Expression]]:
    """The dashboard of one SLO file and the PromQL of its panels."""
    panels: list[dict[str, Any]] = []
    expressions: list[Expression] = []
    service = plan.slos[0].service if plan.slos else plan.stem
    for index, slo in enumerate(plan.slos):
        builder = _Panels(slo, index, config)
        panels += builder.all()
        origin = slo.rules[0].origin
        expressions += [
            Expression(e, origin, f"dashboard query of {slo.name}") for e in builder.expressions
        ]
    return (
        {
            "uid": dashboard_uid(service),
            "title": f"SLOs: {service}",
            "description": header_line([plan.source]),
            "tags": ["slo", TOOL, service],
            "editable": False,
            "graphTooltip": 1,
            "timezone": "browser",
            "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "time": {"from": "now-7d", "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "links": [],
            "annotations": {"list": []},
            "templating": {"list": _variables(plan, config)},
            "panels": panels,
        },
        expressions,
    )


def provider(config: Config) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": TOOL,
                "orgId": config.grafana.org_id,
                "folder": config.grafana.folder,
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": config.grafana.dashboards_path},
            }
        ],
    }


def _dashboard_file(plan: SourcePlan, config: Config) -> dict[str, bytes]:
    doc, _ = dashboard(plan, config)
    return {dashboard_path(plan): (json_text(doc) + "\n").encode("utf-8")}


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    """Deferred dashboards (tree.py), their queries checked now: each dashboard is built
    here for its queries, and again, written, when the writer reads it."""
    out = Output()
    for plan in plans:
        out.expressions += dashboard(plan, config)[1]
        out.files[dashboard_path(plan)] = Deferred(
            _dashboard_file, (plan, config), dashboard_path(plan)
        )
    if plans:
        out.files[PROVIDER] = yaml_file([config.source], provider(config))
    return out


TARGET = Target(
    render,
    folders=(
        Folder(
            "grafana/dashboards",
            "One dashboard per service: SLI, error budget, burn rate per window, burn-down.",
            "Mount where the provider below points (`options.path`).",
        ),
        Folder(
            "grafana/dashboard-providers",
            "The dashboard provider that loads the dashboards.",
            "Mount at `/etc/grafana/provisioning/dashboards/`.",
        ),
    ),
    kinds=(Kind("grafana/dashboards/", ".json", "dashboard"),),
)
