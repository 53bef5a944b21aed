"""The repository's config file (`slo-compiler.yaml`): which engine evaluates the alerts,
how Grafana is addressed, and who gets notified.

It is read like an SLO file (positions kept, strict model, every problem reported at
once) and is optional: without it, alerts are Prometheus rules and no Grafana routing is
generated. `slo-compiler schema` writes `schemas/config.schema.json` from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from ..base.durations import format_duration, parse_duration
from .credentials import SECURE_SETTINGS
from .model import API_VERSION, Duration, LabelName, _Strict
from .prometheus_yml import PROMETHEUS_DEFAULT_INTERVAL, platform_interval

CONFIG_FILE = "slo-compiler.yaml"
GRAFANA_SCHEDULER_STEP = 10  # Grafana evaluates rule groups in multiples of this


ReceiverType = Literal["slack", "pagerduty", "discord", "email", "webhook", "opsgenie"]

# One of these sets of settings must be given, per receiver type.
REQUIRED_SETTINGS: dict[str, tuple[frozenset[str], ...]] = {
    "slack": (frozenset({"url"}), frozenset({"token", "recipient"})),
    "pagerduty": (frozenset({"integrationKey"}),),
    "discord": (frozenset({"url"}),),
    "email": (frozenset({"addresses"}),),
    "webhook": (frozenset({"url"}),),
    "opsgenie": (frozenset({"apiKey"}),),
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
    evaluation_interval: Duration | None = Field(
        None,
        description="How often Grafana evaluates the SLO alert rules; default: the rule "
        "evaluation interval, rounded up to the 10s steps Grafana's scheduler takes.",
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
    secret: list[str] = Field(
        default_factory=list,
        description="Settings that are credentials beyond the type's own (e.g. a webhook "
        "url with a token in it): each must be $__env{NAME} or $__file{/path} as a whole. "
        "Grafana reads references in these and in the type's credential settings only.",
    )

    def secret_settings(self) -> frozenset[str]:
        """Lower-case names of the settings that are credentials: the type's, and those
        the config declares (Grafana matches setting names without regard to case)."""
        return SECURE_SETTINGS[self.type] | {name.lower() for name in self.secret}


class Team(_Strict):
    """Where a team's alerts go: by `severity` label value, else `receiver`."""

    receiver: ReceiverName | None = None
    severity: dict[str, ReceiverName] = Field(
        default_factory=dict, description="severity label value -> receiver name"
    )


class Timings(_Strict):
    """When a group of alerts is notified; unset: the enclosing route's."""

    group_wait: Duration | None = Field(
        None, description="How long a new group waits for more alerts before its first notice."
    )
    group_interval: Duration | None = Field(
        None, description="How long before a group already notified says what changed in it."
    )
    repeat_interval: Duration | None = Field(
        None, description="How long before a notice still firing is sent again."
    )


class Routing(_Strict):
    """The notification policy tree's root: Grafana's notification policies and
    Alertmanager's route are both rendered from it (rules/routes.py)."""

    default_receiver: ReceiverName
    team_label: LabelName = "team"
    group_by: list[str] = Field(default_factory=lambda: ["alertname", "slo_service", "slo"])
    group_wait: Duration = "30s"
    group_interval: Duration = "5m"
    repeat_interval: Duration = "4h"
    page: Timings = Field(
        default_factory=lambda: Timings(repeat_interval="1h"),
        description="Timings of pages (alerts with slo_tier page) wherever they are routed: "
        "a page still firing is said again within the hour.",
    )
    ticket: Timings = Field(
        default_factory=lambda: Timings(
            group_wait="5m", group_interval="30m", repeat_interval="1d"
        ),
        description="Timings of tickets (slo_tier ticket): gathered for 5m, said again daily.",
    )


ResourceName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]


# The ticketing platform's services and the ports its Prometheus scrapes them on.
_PLATFORM_TARGETS = (
    ("auth-service", 3005),
    ("gateway-service", 3001),
    ("ticket-service", 3002),
    ("payment-service", 3003),
    ("stats-service", 3004),
    ("queue-service", 3007),
    ("community-service", 3008),
    ("catalog-service", 3009),
)


def _platform_prometheus() -> dict[str, Any]:
    """The ticketing platform's prometheus.yml (k8s/spring/overlays/kind): global 15s
    scrape and evaluation, one job of static targets, each with its `service` label,
    scraped every 10s. What the Component writes when no manifest is named to read it from."""
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "scrape_configs": [
            {
                "job_name": "spring-services",
                "metrics_path": "/actuator/prometheus",
                "scrape_interval": "10s",
                "static_configs": [
                    {"targets": [f"{name}:{port}"], "labels": {"service": name}}
                    for name, port in _PLATFORM_TARGETS
                ],
            }
        ],
    }


class SmtpOptions(_Strict):
    """How Alertmanager sends mail (Grafana's own SMTP settings live in grafana.ini)."""

    smarthost: str = Field(pattern=r"^[^\s:]+:[0-9]+$", description="host:port of the mail relay.")
    sender: str = Field(alias="from", description="The From address.")
    auth_username: str | None = None
    auth_password: str | None = Field(
        None, description="$__env{NAME} or $__file{/path}: Alertmanager reads it from a file."
    )
    require_tls: bool = True


class AlertmanagerOptions(_Strict):
    """The Alertmanager configuration the alertmanager target writes (generated/
    alertmanager/alertmanager.yml): the same receivers and routing as Grafana's policies."""

    version: str = Field(
        "0.25",
        pattern=r"^0\.[0-9]+$",
        description="The Alertmanager release it is written for (Debian 12 ships 0.25): "
        "which secrets it can read from files.",
    )
    secrets_dir: str = Field(
        "/etc/alertmanager/secrets",
        pattern=r"^/",
        description="Where Alertmanager finds each $__env{NAME} secret, as a file named NAME "
        "(the Kubernetes Component mounts the Secret kubernetes.alertmanager_secret there).",
    )
    base: str | None = Field(
        None,
        description="A hand-written alertmanager.yml (relative to this file) to merge: all "
        "of it kept, the SLO alerts' routes added as the first subtree of its root (matched "
        "by slo_service), our receivers and inhibition added beside its own.",
    )
    smtp: SmtpOptions | None = Field(None, description="Mail relay, for email receivers.")
    inhibit_tickets: bool = Field(
        True,
        description="Hold an SLO's burn-rate tickets while a page of the same SLO (and "
        "group) fires: the page says it already.",
    )


StorageSize = Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")]


class KubernetesOptions(_Strict):
    """Names in the cluster the kind overlay Component patches; defaults are the
    ticketing platform's (k8s/spring/overlays/kind)."""

    prometheus_deployment: ResourceName = "prometheus"
    prometheus_container: str = "prometheus"
    prometheus_configmap: ResourceName = "prometheus-config"
    prometheus_config_key: str = "prometheus.yml"
    prometheus_url: str = "http://prometheus-service:9090"
    prometheus_config_file: str | None = Field(
        None,
        description="The overlay's manifest holding the Prometheus ConfigMap (relative to "
        "this file). Its prometheus.yml is read, kept as it is, and re-emitted with our "
        "rule_files added, so that a target the platform adds is never lost. Without it "
        "the Component writes `prometheus_config`.",
    )
    prometheus_config: dict[str, Any] = Field(
        default_factory=_platform_prometheus,
        description="The prometheus.yml the Component writes (rule_files added) when no "
        "prometheus_config_file is named; default: the ticketing platform's.",
    )
    prometheus_claim: str = Field(
        "prometheus-pvc", description="The PersistentVolumeClaim of Prometheus' data."
    )
    prometheus_volume_size: StorageSize = Field(
        "2Gi",
        description="Size of that claim: retention is bounded below it "
        "(--storage.tsdb.retention.size) so a full disk never stops Prometheus.",
    )
    resize_claim: bool = Field(
        False,
        description="Patch the claim to prometheus_volume_size (when the platform's claim is "
        "smaller than the estimate in generated/README.md and its storage class can grow).",
    )
    prometheus_series: int = Field(
        12000,
        ge=1,
        description="Active series Prometheus holds (about 1,500 per Spring service), for "
        "the disk estimate in generated/README.md.",
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
    alertmanager_secret: ResourceName = Field(
        "alertmanager-secrets",
        description="Secret holding every $__env{NAME} the receivers use, key NAME: mounted "
        "at alertmanager.secrets_dir in the Alertmanager the Component adds (with an "
        "alertmanager section).",
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
    alertmanager: AlertmanagerOptions = Field(
        default_factory=AlertmanagerOptions,
        description="Alertmanager's configuration from the receivers and routing (the "
        "alertmanager target, written where this section is present).",
    )
    evaluation_interval: Duration | None = Field(
        None,
        description="How often Prometheus evaluates the rules (its global "
        "evaluation_interval). Default: that of the platform's prometheus.yml when the "
        "config has a kubernetes section, else Prometheus' default, 1m. explain's model and "
        "Grafana's rule groups use it.",
    )
    histogram_buckets: dict[str, list[Annotated[float, Field(gt=0)]]] = Field(
        default_factory=dict,
        description="Bucket boundaries (seconds) a histogram publishes, per metric name "
        "without _bucket, beyond Micrometer's defaults for http_server_requests_seconds "
        "(e.g. the SLO boundaries a Spring service configures). A latency SLO's threshold "
        "must be a boundary of a histogram whose boundaries are known.",
    )
    # How generated headers name this file (set by the loader; not part of the format).
    _source: str = PrivateAttr(CONFIG_FILE)
    # The platform's prometheus.yml as read from kubernetes.prometheus_config_file, and
    # how headers name that file (set by the loader).
    _platform: dict[str, Any] | None = PrivateAttr(None)
    _platform_source: str | None = PrivateAttr(None)
    # The hand-written alertmanager.yml alertmanager.base names, as read, and how headers
    # name it (set by the loader).
    _alertmanager_base: dict[str, Any] | None = PrivateAttr(None)
    _alertmanager_source: str | None = PrivateAttr(None)

    @property
    def alertmanager_base(self) -> dict[str, Any] | None:
        return self._alertmanager_base

    @property
    def alertmanager_sources(self) -> list[str]:
        return [self._alertmanager_source] if self._alertmanager_source else []

    @property
    def source(self) -> str:
        return self._source

    @property
    def sources(self) -> list[str]:
        """How headers name what this config brings: the file, and the platform manifest."""
        return [self._source, *([self._platform_source] if self._platform_source else [])]

    @property
    def prometheus_yml(self) -> dict[str, Any]:
        """The platform's Prometheus config: as read from its manifest, else as given."""
        return self._platform if self._platform is not None else self.kubernetes.prometheus_config

    @property
    def rule_interval(self) -> int:
        """Seconds between rule evaluations: the one fact every model and target uses."""
        if self.evaluation_interval is not None:
            return parse_duration(self.evaluation_interval)
        if "kubernetes" in self.model_fields_set:
            return platform_interval(self.prometheus_yml)
        return PROMETHEUS_DEFAULT_INTERVAL

    @property
    def grafana_interval(self) -> str:
        """Grafana's rule-group interval: given, else the rule interval in Grafana's steps."""
        if self.grafana.evaluation_interval is not None:
            return self.grafana.evaluation_interval
        step = GRAFANA_SCHEDULER_STEP
        return format_duration(max(step, -(-self.rule_interval // step) * step))

    @property
    def prometheus_alerts(self) -> bool:
        return self.alert_engine in ("prometheus", "both")

    @property
    def grafana_alerts(self) -> bool:
        return self.alert_engine in ("grafana", "both")


DEFAULT = Config(apiVersion=API_VERSION)
