"""The config's routing as one tree, which both engines render and everything that names
a receiver walks: Grafana's notification policies (targets/grafana_alerting), Alertmanager's
route (targets/alertmanager), `explain`, and the check for alerts no team route takes.

The tree: the root sends to the default receiver; a route per team (by the team label),
each with a child per severity the team names; under every route that picks a receiver, a
child per routing class (slo_tier page or ticket) that changes only the timings. Both
engines take the first child that matches, depth first, and a child without a receiver
keeps its parent's, so one walk (`receiver_for`) answers for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..base.tiers import ROUTING_CLASSES, TIER_LABEL
from ..source.config import Config, Routing, Timings

Matcher = tuple[str, str]  # label = value


@dataclass(frozen=True)
class Route:
    matchers: tuple[Matcher, ...] = ()
    receiver: str | None = None  # None: the parent's
    timings: Timings = field(default_factory=Timings)
    routes: tuple[Route, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(label, "") == value for label, value in self.matchers)


def _classes(routing: Routing) -> tuple[Route, ...]:
    """The timing children of a route that picks a receiver: one per routing class whose
    timings the config sets."""
    found = []
    for name in ROUTING_CLASSES:
        timings: Timings = getattr(routing, name)
        if timings.model_dump(exclude_none=True):
            found.append(Route(((TIER_LABEL, name),), None, timings))
    return tuple(found)


def tree(config: Config) -> Route | None:
    """The routing tree, or None where the config routes nothing (then Alertmanager's
    own configuration, or Grafana's default policy, decides)."""
    routing = config.routing
    if routing is None:
        return None
    classes = _classes(routing)
    teams = []
    for team, options in sorted(config.teams.items()):
        severities = tuple(
            Route((("severity", severity),), name, routes=classes)
            for severity, name in sorted(options.severity.items())
        )
        teams.append(
            Route(
                ((routing.team_label, team),),
                options.receiver or routing.default_receiver,
                routes=(*severities, *classes),
            )
        )
    root = Timings(
        group_wait=routing.group_wait,
        group_interval=routing.group_interval,
        repeat_interval=routing.repeat_interval,
    )
    return Route((), routing.default_receiver, root, (*teams, *classes))


def path(root: Route, labels: dict[str, str]) -> list[Route]:
    """The routes an alert with these labels passes, root first: at each, the first
    child that matches, until none does."""
    found = [root]
    while True:
        child = next((r for r in found[-1].routes if r.matches(labels)), None)
        if child is None:
            return found
        found.append(child)


def receiver_for(config: Config, labels: dict[str, str]) -> str | None:
    """The receiver an alert with these labels is sent to; None without routing."""
    root = tree(config)
    if root is None:
        return None
    return next(r.receiver for r in reversed(path(root, labels)) if r.receiver is not None)
