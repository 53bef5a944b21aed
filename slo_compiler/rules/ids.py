"""Stable Grafana identifiers: uids, dashboard panels, folders, and the dashboard link of
an SLO's alerts (planning writes it into the alerts' annotations; the Grafana targets make
the dashboard it points at).

Grafana keys provisioned objects by uid (at most 40 characters of [A-Za-z0-9_-]); a uid
that changed on every compile would make Grafana delete and recreate rules, losing their
state and silences. So uids are derived from what identifies the object: a readable
prefix plus a short hash of the full identity, which keeps them unique after truncation.
The alert rules link to dashboard panels by these ids too, so both come from here.
"""

from __future__ import annotations

import hashlib
import re

UID_MAX = 40
_HASH = 10
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

# Panels of one SLO's row, by role; panel id = 100 * (SLO index + 1) + offset.
PANELS = ("row", "sli", "budget", "burn", "sli_over_time", "burn_down", "alerts")


def uid(*parts: str) -> str:
    identity = "/".join(parts)
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_HASH]
    readable = _UNSAFE.sub("-", "-".join(parts)).strip("-")
    return f"{readable[: UID_MAX - _HASH - 1]}-{digest}"


def dashboard_uid(service: str) -> str:
    return uid("slo", service)


def panel_id(slo_index: int, role: str) -> int:
    return 100 * (slo_index + 1) + PANELS.index(role)


def folder(prefix: str, service: str) -> str:
    return f"{prefix}: {service}"


def dashboard_url(grafana_url: str | None, service: str, index: int) -> str | None:
    """Where an SLO's burn-rate panel is, when Grafana's address is configured."""
    if grafana_url is None:
        return None
    base = grafana_url.rstrip("/")
    return f"{base}/d/{dashboard_uid(service)}?viewPanel={panel_id(index, 'burn')}"
