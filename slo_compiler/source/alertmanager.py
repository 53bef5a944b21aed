"""The config's receivers as Alertmanager reads them: the `*_configs` entry each type
becomes, which Grafana setting is which Alertmanager field, and where Alertmanager reads
a secret from a file.

Alertmanager has no `$__env{}`: a secret reaches it only through a `*_file` field (the
Kubernetes Component mounts a Secret at `secrets_dir`, a file per `$__env{NAME}` named
NAME; a `$__file{/path}` is that path). Where the configured release has no file field
for a secret, the receiver is refused at the setting, with the release that has one;
so is a setting Alertmanager has no field for, rather than dropped in silence. One
function (`receiver_config`) answers both the config check and the target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..base.templates import literal
from .config import AlertmanagerOptions, Receiver
from .credentials import is_reference

_FILE = re.compile(r"^\$__file\{([^}]+)\}$")
_ENV = re.compile(r"^\$__env\{([^}]+)\}$")


@dataclass(frozen=True)
class Field:
    """An Alertmanager field a Grafana setting becomes. `secret_file`: the field that
    reads it from a file, and the release that brought it (None: no release has one);
    `templated`: Alertmanager expands Go templates in it, so user text is escaped."""

    name: str
    secret_file: tuple[str, tuple[int, int]] | None = None
    templated: bool = False


_TYPES: dict[str, tuple[str, dict[str, Field]]] = {
    "pagerduty": (
        "pagerduty_configs",
        {
            "integrationkey": Field("routing_key", ("routing_key_file", (0, 25))),
            "severity": Field("severity", templated=True),
            "class": Field("class", templated=True),
            "component": Field("component", templated=True),
            "group": Field("group", templated=True),
            "client": Field("client", templated=True),
            "client_url": Field("client_url", templated=True),
            "url": Field("url"),
        },
    ),
    "slack": (
        "slack_configs",
        {
            "url": Field("api_url", ("api_url_file", (0, 22))),
            "recipient": Field("channel", templated=True),
            "username": Field("username", templated=True),
            "icon_emoji": Field("icon_emoji", templated=True),
            "icon_url": Field("icon_url", templated=True),
        },
    ),
    "discord": ("discord_configs", {"url": Field("webhook_url", ("webhook_url_file", (0, 28)))}),
    "webhook": (
        "webhook_configs",
        {
            "url": Field("url", ("url_file", (0, 26))),
            "maxalerts": Field("max_alerts"),
        },
    ),
    "opsgenie": (
        "opsgenie_configs",
        {
            "apikey": Field("api_key", ("api_key_file", (0, 24))),
            "apiurl": Field("api_url"),
        },
    ),
    "email": ("email_configs", {"addresses": Field("to", templated=True)}),
}
# What on-call reads, where a type's default says less than the alert's own annotations
# (our templates, not user text): the summary as the headline, then the description and
# runbook of each alert.
_EACH_ALERT = (
    "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n\n{{ end }}"
)
_MESSAGES: dict[str, dict[str, str]] = {
    "pagerduty": {
        "description": "{{ if .CommonAnnotations.summary }}{{ .CommonAnnotations.summary }}"
        '{{ else }}{{ template "pagerduty.default.description" . }}{{ end }}',
    },
    "slack": {"text": _EACH_ALERT},
    "discord": {"message": _EACH_ALERT},
    "opsgenie": {"description": _EACH_ALERT},
}
# Webhook credentials live in Alertmanager's http_config.
_WEBHOOK_AUTH = {
    "username": ("basic_auth", "username", None),
    "password": ("basic_auth", "password", "password_file"),
    "authorization_scheme": ("authorization", "type", None),
    "authorization_credentials": ("authorization", "credentials", "credentials_file"),
}


def version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def secret_path(value: str, options: AlertmanagerOptions) -> str:
    """Where Alertmanager reads a secret the config gives as a reference."""
    found = _FILE.match(value.strip())
    if found:
        return found[1]
    env = _ENV.match(value.strip())
    assert env is not None, "a secret setting is a reference (checks/config.py)"
    return f"{options.secrets_dir.rstrip('/')}/{env[1]}"


Problem = tuple[str, str]  # (setting, why)


def _value(value: Any, field: Field) -> Any:
    """A setting as the Alertmanager field takes it; None where it cannot be."""
    if field.name == "max_alerts":
        whole = isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        return int(value) if whole and not isinstance(value, bool) else None
    if field.name == "to" and isinstance(value, str):
        # Grafana separates addresses with ";" or ",", Alertmanager with ",".
        value = ", ".join(a.strip() for a in value.replace(";", ",").split(",") if a.strip())
    if isinstance(value, str) and field.templated:
        return literal(value)
    return value


def _secret(
    receiver: Receiver, key: str, field: Field, options: AlertmanagerOptions
) -> tuple[tuple[str, str] | None, Problem | None]:
    """(field, file) for a secret setting, or why the release cannot read it."""
    if field.secret_file is None:
        return None, (key, f"Alertmanager reads no {receiver.type} {field.name} from a file")
    name, since = field.secret_file
    if version(options.version) < since:
        release = ".".join(map(str, since))
        return None, (
            key,
            f"Alertmanager {options.version} reads a {receiver.type} {field.name} only "
            f"written into its configuration; {name} works from {release}: set "
            f"alertmanager.version to your release if it is {release} or later, or use a "
            "receiver type whose secret it reads from a file",
        )
    return (name, secret_path(str(receiver.settings[key]), options)), None


def receiver_config(
    receiver: Receiver, options: AlertmanagerOptions
) -> tuple[dict[str, Any], list[Problem]]:
    """The receiver as Alertmanager's `receivers:` entry, and every setting it cannot
    take (setting, why)."""
    kind, fields = _TYPES[receiver.type]
    secret = receiver.secret_settings()
    entry: dict[str, Any] = {
        "send_resolved": not receiver.disable_resolve_message,
        **_MESSAGES.get(receiver.type, {}),
    }
    problems: list[Problem] = []
    for key, value in sorted(receiver.settings.items()):
        lowered = key.lower()
        if receiver.type == "webhook" and lowered in _WEBHOOK_AUTH:
            problems += _webhook_auth(entry, receiver, key, options)
            continue
        field = fields.get(lowered)
        if field is None:
            why = f"Alertmanager's {kind} have no field for the {receiver.type} setting {key!r}"
            problems.append((key, why))
        elif lowered in secret and isinstance(value, str) and is_reference(value):
            found, problem = _secret(receiver, key, field, options)
            if found:
                entry[found[0]] = found[1]
            if problem:
                problems.append(problem)
        elif _value(value, field) is None:
            problems.append((key, f"{key!r} must be a whole number, got {value!r}"))
        else:
            entry[field.name] = _value(value, field)
    if receiver.type == "email" and options.smtp is None:
        problems.append(
            ("addresses", "Alertmanager sends mail through alertmanager.smtp: set its smarthost")
        )
    return {"name": receiver.name, kind: [entry]}, problems


def _webhook_auth(
    entry: dict[str, Any], receiver: Receiver, key: str, options: AlertmanagerOptions
) -> list[Problem]:
    """A webhook's basic auth or authorization header, in its http_config."""
    block, name, file_field = _WEBHOOK_AUTH[key.lower()]
    value = receiver.settings[key]
    target = entry.setdefault("http_config", {}).setdefault(block, {})
    if file_field is None:
        target[name] = value
    elif isinstance(value, str) and is_reference(value):
        target[file_field] = secret_path(value, options)
    else:
        return [(key, "Alertmanager reads a credential from a file: use $__env{} or $__file{}")]
    return []
