"""Alerts whose routing label no route matches, while routes by that label exist.

A file with `labels: {team: search}` and no `search` under the config's `teams:` pages
the default receiver (a chat channel, say) instead of the on-call, and nothing else says
so: `explain` shows it only to whoever asks. Each place that writes such a value is a
warning naming the receivers its alerts fall to (an error with --strict): it may be meant,
as a team whose alerts all go to the default, but rarely is.
"""

from __future__ import annotations

from ...base.tiers import SEVERITY_DEFAULTS, WORKBOOK_TIERS
from ...diagnostics import Code, Diagnostic
from ...source.config import Config
from ..routes import receiver_for
from .slos import CheckedFile


def _written(c: CheckedFile, index: int, label: str) -> list[tuple[tuple, dict[str, str]]]:
    """Where the SLO at `index` writes `label`, most specific last, and the alert labels
    of each routing class and tier it reaches: (field path, labels)."""
    slo = c.slos[index].slo
    at = ("slos", c.slos[index].index)
    found: list[tuple[tuple, dict[str, str]]] = []
    for tier in WORKBOOK_TIERS:
        options = slo.alerting.tiers.get(tier.name)  # type: ignore[call-overload]
        severity = getattr(slo.alerting, tier.severity)
        layers = [
            (("labels",), c.model.labels),
            ((*at, "labels"), slo.labels),
            ((*at, "alerting", tier.severity, "labels"), severity.labels),
            ((*at, "alerting", "tiers", tier.name, "labels"), options.labels if options else {}),
        ]
        labels = {"severity": SEVERITY_DEFAULTS[tier.severity]}
        where: tuple = ()
        for path, layer in layers:
            labels.update(layer)
            if label in layer:
                where = (*path, label)
        if where:
            found.append((where, labels))
    return found


def check_routing(checked: list[CheckedFile], config: Config) -> list[Diagnostic]:
    """A warning at each place a routing label's value has no route (see above)."""
    routing = config.routing
    if routing is None or not config.teams:
        return []
    label, routes = routing.team_label, sorted(config.teams)
    problems: dict[tuple, Diagnostic] = {}
    for c in checked:
        falls: dict[tuple[tuple, str], set[str]] = {}
        for index in range(len(c.slos)):
            for where, labels in _written(c, index, label):
                if labels[label] not in config.teams:
                    key = (where, labels[label])
                    falls.setdefault(key, set()).add(receiver_for(config, labels) or "")
        for (where, value), receivers in falls.items():
            problems[(c.source.path, c.source.position(where))] = c.source.diagnostic(
                where,
                Code.UNROUTED,
                f"{label} '{value}' has no route under teams: in the config "
                f"(routes: {', '.join(routes)}); its alerts go to "
                f"{', '.join(sorted(receivers))}. Add the team to teams:, or use one of "
                "those names.",
                level="warning",
            )
    return list(problems.values())
