"""What the compiler reads in a prometheus.yml (the platform's, or one the config embeds):
its intervals, checked to be durations as Prometheus requires."""

from __future__ import annotations

from typing import Any

from ..base.durations import parse_duration

PROMETHEUS_DEFAULT_INTERVAL = 60  # Prometheus' evaluation_interval when none is set


def prometheus_yml_problems(yml: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """What in a prometheus.yml the compiler reads and cannot: (where, why). The intervals
    must be durations (Prometheus refuses the file otherwise) and scrape_configs a list."""
    if not isinstance(yml, dict) or not isinstance(yml.get("scrape_configs"), list):
        return [((), "is not a Prometheus config with a scrape_configs list")]
    places: list[tuple[tuple[str | int, ...], Any]] = [
        (("global", key), (yml.get("global") or {}).get(key))
        for key in ("scrape_interval", "evaluation_interval")
    ]
    places += [
        (("scrape_configs", i, "scrape_interval"), job.get("scrape_interval"))
        for i, job in enumerate(yml["scrape_configs"])
        if isinstance(job, dict)
    ]
    out = []
    for where, value in places:
        if value is None:
            continue
        try:
            parse_duration(str(value))
        except ValueError:
            out.append((where, f"{'.'.join(map(str, where))} {value!r} is not a duration"))
    return out


def platform_interval(prometheus_yml: dict[str, Any]) -> int:
    """The global evaluation_interval of a prometheus.yml, in seconds (Prometheus' default
    when it sets none)."""
    text = (prometheus_yml.get("global") or {}).get("evaluation_interval")
    return parse_duration(text) if isinstance(text, str) else PROMETHEUS_DEFAULT_INTERVAL
