"""The repository's config file (`slo-compiler.yaml`): which engine evaluates the alerts,
how Grafana is addressed, and who gets notified.

It is read like an SLO file (positions kept, strict model, every problem reported at
once) and is optional: without it, alerts are Prometheus rules and no Grafana routing is
generated. `slo-compiler schema` writes `schemas/config.schema.json` from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from . import credentials
from .diagnostics import Code, Diagnostic
from .model import API_VERSION, Duration, LabelName, _Strict
from .yamlpos import SourceMap

CONFIG_FILE = "slo-compiler.yaml"

ReceiverType = Literal["slack", "pagerduty", "discord", "email", "webhook"]

# One of these sets of settings must be given, per receiver type.
REQUIRED_SETTINGS: dict[str, tuple[frozenset[str], ...]] = {
    "slack": (frozenset({"url"}), frozenset({"token", "recipient"})),
    "pagerduty": (frozenset({"integrationKey"}),),
    "discord": (frozenset({"url"}),),
    "email": (frozenset({"addresses"}),),
    "webhook": (frozenset({"url"}),),
}

ReceiverName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")]
Uid = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class GrafanaOptions(_Strict):
    """How the generated Grafana files address Grafana."""

    datasource_uid: Uid = Field(
        "prometheus", description="uid of the Prometheus datasource the queries use."
    )
    url: str | None = Field(
        None, description="Grafana's base URL, for dashboard links in alert annotations."
    )
    org_id: int = Field(1, ge=1, description="Grafana organisation the files provision.")
    folder: str = Field(
        "SLOs",
        min_length=1,
        description="Folder of the dashboards; alert rules go into '<folder> / <service>'.",
    )
    evaluation_interval: Duration = Field(
        "1m", description="How often Grafana evaluates the SLO alert rules."
    )
    dashboards_path: str = Field(
        "/var/lib/grafana/slo-dashboards",
        pattern=r"^/",
        description="Where Grafana finds the dashboard JSON files (the provider's path); "
        "not inside another mounted folder.",
    )


class Receiver(_Strict):
    """A contact point. Secret settings must be `$__env{NAME}` or `$__file{/path}`."""

    name: ReceiverName
    type: ReceiverType
    settings: dict[str, str | bool | int] = Field(default_factory=dict)
    disable_resolve_message: bool = False
    not_secret: list[str] = Field(
        default_factory=list,
        description="Settings whose values only look like secrets (e.g. a long PagerDuty "
        "component name): the secret detector skips them. A credential setting of the "
        "type (url, token, integrationKey, password, ...) cannot be listed.",
    )


class Team(_Strict):
    """Where a team's alerts go: by `severity` label value, else `receiver`."""

    receiver: ReceiverName | None = None
    severity: dict[str, ReceiverName] = Field(
        default_factory=dict, description="severity label value -> receiver name"
    )


class Routing(_Strict):
    """The notification policy tree's root."""

    default_receiver: ReceiverName
    team_label: LabelName = "team"
    group_by: list[str] = Field(default_factory=lambda: ["alertname", "slo_service", "slo"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"


ResourceName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]


def _platform_scrape_configs() -> list[dict[str, Any]]:
    """The ticketing platform's scrape job: pods of the namespace that opt in by
    annotation, the pod label `app` as `service`, Micrometer's path by default."""
    return [
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
        {
            "job_name": "spring-services",
            "metrics_path": "/actuator/prometheus",
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"own_namespace": True}}],
            "relabel_configs": [
                {
                    "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
                    "action": "keep",
                    "regex": "true",
                },
                {
                    "source_labels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
                    "action": "replace",
                    "regex": "(.+)",
                    "target_label": "__metrics_path__",
                },
                {
                    "source_labels": [
                        "__address__",
                        "__meta_kubernetes_pod_annotation_prometheus_io_port",
                    ],
                    "action": "replace",
                    "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                    "replacement": "$1:$2",
                    "target_label": "__address__",
                },
                {"source_labels": ["__meta_kubernetes_pod_label_app"], "target_label": "service"},
                {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
            ],
        },
    ]


class KubernetesOptions(_Strict):
    """Names in the cluster the kind overlay Component patches; defaults are the
    ticketing platform's (k8s/spring/overlays/kind)."""

    prometheus_deployment: ResourceName = "prometheus"
    prometheus_container: str = "prometheus"
    prometheus_configmap: ResourceName = "prometheus-config"
    prometheus_config_key: str = "prometheus.yml"
    prometheus_url: str = "http://prometheus-service:9090"
    scrape_configs: list[dict[str, Any]] = Field(
        default_factory=_platform_scrape_configs,
        description="scrape_configs of the Prometheus config the Component writes.",
    )
    grafana_deployment: ResourceName = "grafana"
    grafana_container: str = "grafana"
    grafana_datasources_configmap: ResourceName = "grafana-datasources"
    grafana_datasources_key: str = "datasources.yaml"
    grafana_dashboard_providers_configmap: ResourceName = Field(
        "grafana-dashboard-provider",
        description="The platform's own dashboard provider ConfigMap, kept beside ours.",
    )
    loki_url: str = "http://loki:3100"
    admin_secret: ResourceName = Field(
        "grafana-admin", description="Secret with key admin-password for Grafana's admin."
    )
    alerting_secret: ResourceName = Field(
        "grafana-alerting-secrets",
        description="Secret holding every $__env{NAME} the contact points use, key NAME.",
    )
    prometheus_rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels on PrometheusRule objects (the operator's ruleSelector).",
    )


class Config(_Strict):
    """slo-compiler.yaml."""

    apiVersion: Literal["slo-compiler/v1"]
    alert_engine: Literal["prometheus", "grafana", "both"] = Field(
        "prometheus",
        description="Who evaluates the burn-rate alerts: Prometheus rules (for "
        "Alertmanager), Grafana-managed rules, or both (each alert twice: migration only).",
    )
    grafana: GrafanaOptions = Field(default_factory=GrafanaOptions)
    receivers: list[Receiver] = Field(default_factory=list)
    routing: Routing | None = None
    teams: dict[str, Team] = Field(default_factory=dict)
    kubernetes: KubernetesOptions = Field(default_factory=KubernetesOptions)
    # How generated headers name this file (set by the loader; not part of the format).
    _source: str = PrivateAttr(CONFIG_FILE)

    @property
    def source(self) -> str:
        return self._source

    @property
    def prometheus_alerts(self) -> bool:
        return self.alert_engine in ("prometheus", "both")

    @property
    def grafana_alerts(self) -> bool:
        return self.alert_engine in ("grafana", "both")


DEFAULT = Config(apiVersion=API_VERSION)


def _receiver_secrets(receiver: Receiver, at: tuple, source: SourceMap) -> list[Diagnostic]:
    """A credential setting of the type must be a reference as a whole; any other setting
    must not look like a credential (unless listed in not_secret)."""
    out = []
    secure = credentials.SECURE_SETTINGS[receiver.type]
    for name in receiver.not_secret:
        if name.lower() in secure:
            out.append(
                source.diagnostic(
                    (*at, "not_secret"),
                    Code.LITERAL_SECRET,
                    f"'{name}' is a credential of a {receiver.type} contact point and must "
                    "come from $__env{NAME} or $__file{/path}; it cannot be marked not secret",
                )
            )
    for key, value in sorted(receiver.settings.items()):
        if not isinstance(value, str):
            continue
        loc = (*at, "settings", key)
        out += _reference_names(value, loc, source)
        if key.lower() in secure:
            what = (
                None
                if credentials.is_reference(value)
                else (credentials.literal_secret(value) or f"the {receiver.type} setting '{key}'")
            )
        elif key in receiver.not_secret:
            what = None
        else:
            what = credentials.literal_secret(value)
        if what:
            out.append(_literal(loc, what, source))
    return out


def _literal(loc: tuple, what: str, source: SourceMap, hint: str = "") -> Diagnostic:
    return source.diagnostic(
        loc,
        Code.LITERAL_SECRET,
        f"literal secret ({what}): "
        + (hint or "write $__env{NAME} or $__file{/path} and set it in Grafana's environment"),
    )


def _reference_names(value: str, loc: tuple, source: SourceMap) -> list[Diagnostic]:
    return [
        source.diagnostic(
            loc,
            Code.INVALID_VALUE,
            f"$__env{{{name}}}: an environment variable (and Secret key) name is letters, "
            "digits and '_', not starting with a digit",
        )
        for name in credentials.env_names(value)
        if not credentials.ENV_NAME.match(name)
    ]


def _strings(data: Any, loc: tuple = ()) -> list[tuple[tuple, str]]:
    """Every (location, string) of a loaded document, mapping keys aside."""
    if isinstance(data, dict):
        return [found for k, v in data.items() for found in _strings(v, (*loc, k))]
    if isinstance(data, list):
        return [found for i, v in enumerate(data) for found in _strings(v, (*loc, i))]
    return [(loc, data)] if isinstance(data, str) else []


def _other_secrets(data: Any, source: SourceMap) -> list[Diagnostic]:
    """Credentials anywhere outside the contact points' settings: a setting named like a
    credential (a scrape job's basic_auth password) or a value shaped like one (a URL
    with a password in grafana.url)."""
    out = []
    for loc, value in _strings(data):
        if loc[:1] == ("receivers",) and "settings" in loc:
            continue
        named = isinstance(loc[-1], str) and credentials.CREDENTIAL_NAMES.match(loc[-1])
        what = f"the setting '{loc[-1]}'" if named and value else credentials.literal_secret(value)
        if what:
            in_prometheus = loc[:1] == ("kubernetes",)
            hint = (
                "Prometheus reads credentials from files: use password_file or "
                "credentials_file with a mounted Secret"
                if in_prometheus
                else "keep it out of the config (Grafana reads $__env{NAME} in contact points)"
            )
            out.append(_literal(loc, what, source, hint))
    return out


def check_config(config: Config, data: Any, source: SourceMap) -> list[Diagnostic]:
    """References between receivers, routes and teams; settings each receiver type needs;
    no literal secret anywhere."""
    out: list[Diagnostic] = _other_secrets(data, source)
    names: dict[str, int] = {}
    for i, receiver in enumerate(config.receivers):
        at = ("receivers", i)
        if receiver.name in names:
            out.append(
                source.diagnostic(
                    (*at, "name"),
                    Code.DUPLICATE_RECEIVER,
                    f"receiver '{receiver.name}' is defined twice",
                )
            )
        names.setdefault(receiver.name, i)
        given = set(receiver.settings)
        if not any(need <= given for need in REQUIRED_SETTINGS[receiver.type]):
            options = " or ".join(
                "+".join(sorted(need)) for need in REQUIRED_SETTINGS[receiver.type]
            )
            out.append(
                source.diagnostic(
                    (*at, "settings"),
                    Code.MISSING_FIELD,
                    f"a {receiver.type} receiver needs the setting {options}",
                )
            )
        out += _receiver_secrets(receiver, at, source)
    if config.routing is None and (config.teams or config.receivers):
        out.append(
            source.diagnostic((), Code.MISSING_FIELD, "receivers and teams need a routing section")
        )
    references = []
    if config.routing is not None:
        references.append((("routing", "default_receiver"), config.routing.default_receiver))
    for team, options in sorted(config.teams.items()):
        if options.receiver:
            references.append((("teams", team, "receiver"), options.receiver))
        references += [
            (("teams", team, "severity", severity), name)
            for severity, name in sorted(options.severity.items())
        ]
    for loc, name in references:
        if name not in names:
            out.append(
                source.diagnostic(
                    loc, Code.UNKNOWN_RECEIVER, f"no receiver named '{name}' in receivers"
                )
            )
    return out
