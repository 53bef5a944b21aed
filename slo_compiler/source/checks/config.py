"""The config file's checks: references between receivers, routes and teams, the settings
each receiver type needs, the prometheus.yml it embeds, and no literal secret anywhere
(credentials.py says what a secret looks like)."""

from __future__ import annotations

from typing import Any

from ...base import templates
from ...diagnostics import Code, Diagnostic
from .. import credentials
from ..config import REQUIRED_SETTINGS, Config, Receiver
from ..prometheus_yml import prometheus_yml_problems
from ..yamlpos import SourceMap


def _receiver_secrets(receiver: Receiver, at: tuple, source: SourceMap) -> list[Diagnostic]:
    """A credential setting (the type's, or one the config declares in `secret`) must be
    a reference as a whole; any other setting must neither look like a credential (unless
    listed in not_secret) nor hold a reference: Grafana would read a file or variable
    into a setting that is shown in its UI and sent in notifications."""
    out = []
    secure = receiver.secret_settings()
    for name in receiver.not_secret:
        if name.lower() in secure:
            out.append(
                source.diagnostic(
                    (*at, "not_secret"),
                    Code.LITERAL_SECRET,
                    f"'{name}' is a credential of this {receiver.type} contact point and must "
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
        elif credentials.REFERENCE.search(value):
            out.append(
                source.diagnostic(
                    loc,
                    Code.INVALID_VALUE,
                    f"'{key}' is not a credential setting, and Grafana reads $__env{{}} and "
                    "$__file{} only in those: list it under the receiver's `secret` if it is "
                    "one, else write the value itself",
                )
            )
            continue
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
    if "prometheus_config" in config.kubernetes.model_fields_set:
        at = ("kubernetes", "prometheus_config")
        out += [
            source.diagnostic((*at, *where), Code.INVALID_VALUE, f"prometheus_config: {why}")
            for where, why in prometheus_yml_problems(config.kubernetes.prometheus_config)
        ]
    braced = config.grafana.url and templates.grafana_braced(config.grafana.url)
    if braced:  # the base of every dashboard_url annotation
        out.append(
            source.diagnostic(
                ("grafana", "url"),
                Code.INVALID_VALUE,
                f"'{braced}' in the URL of alert annotations: Grafana releases differ on it "
                "(read literally, or expanded from their environment): write the URL itself",
            )
        )
    names, found = _receivers(config, source)
    out += found
    if config.routing is None and (config.teams or config.receivers):
        out.append(
            source.diagnostic((), Code.MISSING_FIELD, "receivers and teams need a routing section")
        )
    return out + _references(config, names, source)


def _receivers(config: Config, source: SourceMap) -> tuple[dict[str, int], list[Diagnostic]]:
    """Each receiver's name once, the settings its type needs, no literal secret; the
    names, for the references to them."""
    out: list[Diagnostic] = []
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
    return names, out


def _references(config: Config, names: dict[str, int], source: SourceMap) -> list[Diagnostic]:
    """Every receiver the routing and the teams name, among the receivers."""
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
    return [
        source.diagnostic(loc, Code.UNKNOWN_RECEIVER, f"no receiver named '{name}' in receivers")
        for loc, name in references
        if name not in names
    ]
