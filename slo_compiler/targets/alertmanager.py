"""Alertmanager's configuration, for the Prometheus engine: `alertmanager/alertmanager.yml`
from the config's receivers and routing, the same tree Grafana's notification policies
are (rules/routes.py), so an alert reaches the same receiver whichever engine evaluates it.

* receivers as source/alertmanager.py maps them, secrets read from files;
* the route tree with Alertmanager's matchers; pages and tickets keep their own timings;
* an inhibition: while an SLO's page fires, its burn-rate tickets of the same group are
  held (Grafana has no inhibition; there both arrive);
* merged into a hand-written configuration (`alertmanager.base`): all of it kept, the SLO
  alerts' tree the first route under its root, matched by `slo_service`, so that nothing
  of the team's own routing changes for other alerts.

Written where the config has an `alertmanager` section.
"""

from __future__ import annotations

from typing import Any

from ..base.tiers import TIER_LABEL, WINDOW_LABEL
from ..emit.text import yaml_file
from ..rules.ir import SourcePlan
from ..rules.routes import Route, tree
from ..source.alertmanager import receiver_config, secret_path
from ..source.config import Config
from . import Files, Folder, Kind, Output, Target

FOLDER = "alertmanager"
FILE = f"{FOLDER}/alertmanager.yml"
# Every SLO alert carries it (recorded series and the SLI alerts alike): what the merged
# subtree matches.
SLO_LABEL = "slo_service"


def matcher(label: str, value: str, op: str = "=") -> str:
    """One Alertmanager matcher, `label="value"`: the value quoted as its parser reads it
    (a backslash, a double quote and a newline escaped), so any team name is itself."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{label}{op}"{escaped}"'


def _route(route: Route) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route.receiver is not None:
        out["receiver"] = route.receiver
    if route.matchers:
        out["matchers"] = [matcher(label, value) for label, value in route.matchers]
    out.update(route.timings.model_dump(exclude_none=True))
    if route.routes:
        out["routes"] = [_route(r) for r in route.routes]
    return out


def _inhibition(plans: list[SourcePlan]) -> dict[str, Any]:
    """A page holds the burn-rate tickets (those with a window) of the same SLO and group;
    labels absent on both sides are equal, so one rule serves every SLO's grouping."""
    grouping = sorted({label for p in plans for s in p.slos for label in s.group_by})
    return {
        "source_matchers": [matcher(TIER_LABEL, "page")],
        "target_matchers": [matcher(TIER_LABEL, "ticket"), matcher(WINDOW_LABEL, ".+", "=~")],
        "equal": ["slo_service", "slo", *grouping],
    }


def _global(config: Config) -> dict[str, Any]:
    smtp = config.alertmanager.smtp
    if smtp is None:
        return {}
    out: dict[str, Any] = {
        "smtp_smarthost": smtp.smarthost,
        "smtp_from": smtp.sender,
        "smtp_require_tls": smtp.require_tls,
    }
    if smtp.auth_username is not None:
        out["smtp_auth_username"] = smtp.auth_username
    if smtp.auth_password is not None:
        out["smtp_auth_password_file"] = secret_path(smtp.auth_password, config.alertmanager)
    return {"global": out}


def configuration(plans: list[SourcePlan], config: Config) -> dict[str, Any]:
    """The whole alertmanager.yml: ours, or the base with ours merged in."""
    root, routing = tree(config), config.routing
    assert root is not None and routing is not None, "checks/alertmanager.py: routing"
    ours = {"group_by": list(routing.group_by), **_route(root)}
    receivers = [receiver_config(r, config.alertmanager)[0] for r in config.receivers]
    inhibit = [_inhibition(plans)] if config.alertmanager.inhibit_tickets else []
    settings = _global(config)
    base = config.alertmanager_base
    if base is None:
        return {**settings, "route": ours, "inhibit_rules": inhibit, "receivers": receivers}
    subtree = {"matchers": [matcher(SLO_LABEL, ".+", "=~")], **ours}
    merged = dict(base)
    merged["route"] = {**base["route"], "routes": [subtree, *base["route"].get("routes", [])]}
    merged["receivers"] = [*base.get("receivers", []), *receivers]
    merged["inhibit_rules"] = [*base.get("inhibit_rules", []), *inhibit]
    if settings:
        merged["global"] = {**base.get("global", {}), **settings["global"]}
    return merged


def render(plans: list[SourcePlan], config: Config, _inputs: Files) -> Output:
    out = Output()
    if "alertmanager" in config.model_fields_set and config.routing is not None:
        sources = [config.source, *config.alertmanager_sources]
        out.files[FILE] = yaml_file(sources, configuration(plans, config))
    return out


# Where the config has an alertmanager section (select()).
TARGET = Target(
    render,
    folders=(
        Folder(
            FOLDER,
            "Alertmanager's configuration: the config's receivers and routing (the same tree "
            "as Grafana's notification policies), an SLO's tickets held while its page fires.",
            "Load as Alertmanager's --config.file; put each `$__env{NAME}` secret in a file "
            "NAME under `alertmanager.secrets_dir`.",
        ),
    ),
    kinds=(Kind(f"{FOLDER}/", ".yml", "Alertmanager configuration"),),
    section="alertmanager",
)
