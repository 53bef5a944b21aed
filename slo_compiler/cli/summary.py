"""The one line `compile` prints: what was written, counted per kind of file.

Counts come from the files themselves, so a `--target` subset or an alert engine that moves
the alerts into Grafana is described as it is: no count of what no written file holds.
"""

from __future__ import annotations

from ..compiler import Result
from ..targets import kinds
from ..write.files import Changes


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _kind(path: str) -> str | None:
    """What a generated file is: the kind of the deepest kind's folder it is in, at any
    depth (an SLO file in a subfolder of slos/ has its outputs in one too)."""
    for kind in sorted(kinds(), key=lambda k: -len(k.folder)):
        if path.startswith(kind.folder):
            return kind.name if path.endswith(kind.suffix) else None
    return None


def line(result: Result, out: str, changes: Changes) -> str:
    """`6 SLOs -> 45 files under generated/ (…): 6 Prometheus rule files (84 recording
    rules), 6 Grafana alert rule files (30 alerts), …`."""
    counts: dict[str, int] = {}
    for path in result.files:
        what = _kind(path)
        if what is not None:
            counts[what] = counts.get(what, 0) + 1
    stats, config = result.stats, result.config
    contents = {
        "Prometheus rule file": [_count(stats.recording_rules, "recording rule")]
        + ([_count(stats.alerts, "alert")] if config.prometheus_alerts else []),
        "Grafana alert rule file": [_count(stats.alerts, "alert")],
    }
    parts = []
    for what in dict.fromkeys(k.name for k in kinds()):
        if what in counts:
            inside = ", ".join(contents.get(what, []))
            parts.append(_count(counts[what], what) + (f" ({inside})" if inside else ""))
    return (
        f"{_count(stats.slos, 'SLO')} -> {_count(len(result.files), 'file')} under {out}/ "
        f"({len(changes.added)} added, {len(changes.changed)} changed, "
        f"{len(changes.removed)} removed)" + (": " + ", ".join(parts) if parts else "")
    )
