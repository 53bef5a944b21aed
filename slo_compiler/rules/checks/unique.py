"""Names that must be unique across every SLO file: services, SLO ids, alert names."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from ...diagnostics import Code, Diagnostic
from .slos import CheckedFile, CheckedSlo


def _clashes(
    files: list[CheckedFile],
    key: Callable[[CheckedFile, CheckedSlo], Hashable],
    loc: Callable[[CheckedSlo], tuple[str | int, ...]],
    across_files_only: bool,
) -> list[tuple[CheckedFile, tuple[str | int, ...], str]]:
    """Every SLO whose key an earlier SLO already has: (file, location, where the first is)."""
    first: dict[Hashable, tuple[str, int, int]] = {}
    out = []
    for checked in files:
        for c in checked.slos:
            k, at = key(checked, c), loc(c)
            if k in first and not (across_files_only and first[k][0] == checked.source.path):
                path, line, col = first[k]
                out.append((checked, at, f"{path}:{line}:{col}"))
            else:
                first.setdefault(k, (checked.source.path, *checked.source.position(at)))
    return out


def check_unique(files: list[CheckedFile]) -> list[Diagnostic]:
    """Names that must be unique across all files. A service has one file: its dashboard
    (uid from the service) and Grafana folder are per service. SLO ids (service + name)
    are the identity of every recorded series: two definitions would silently merge their
    data. Alert names within a service: its generated tests and its Grafana folder cannot
    tell two SLOs' alerts of one name apart (across services, slo_service does)."""
    out = []
    services: dict[str, CheckedFile] = {}
    for checked in files:
        first = services.setdefault(checked.model.service, checked)
        if first is not checked:
            out.append(
                checked.source.diagnostic(
                    ("service",),
                    Code.OUTPUT_CLASH,
                    f"service '{checked.model.service}' already has its SLO file, "
                    f"{first.source.path}: put all of a service's SLOs in one file (its "
                    "dashboard and Grafana folder are per service)",
                )
            )
    duplicates = _clashes(
        files,
        lambda f, c: (f.model.service, c.slo.name),
        lambda c: ("slos", c.index, "name"),
        across_files_only=True,  # within a file, check_file reports it
    )
    for checked, at, where in duplicates:
        slo = checked.model.slos[at[1]]  # type: ignore[index]
        out.append(
            checked.source.diagnostic(
                at,
                Code.DUPLICATE_SLO,
                f"SLO '{slo.name}' of service '{checked.model.service}' is already defined "
                f"at {where}",
            )
        )
    # A duplicated SLO clashes on its alert name too; once is enough to say so.
    seen = {(checked.source.path, at[1]) for checked, at, _ in duplicates}
    unique = [
        CheckedFile(f.model, f.source, [c for c in f.slos if (f.source.path, c.index) not in seen])
        for f in files
    ]
    for checked, at, where in _clashes(
        unique,
        lambda f, c: (f.model.service, c.slo.alert_name),
        lambda c: (
            ("slos", c.index, "alerting", "name")
            if c.slo.alerting.name
            else ("slos", c.index, "name")
        ),
        across_files_only=False,
    ):
        slo = checked.model.slos[at[1]]  # type: ignore[index]
        out.append(
            checked.source.diagnostic(
                at,
                Code.ALERT_NAME_CLASH,
                f"alert name '{slo.alert_name}' is already used by an SLO of service "
                f"'{checked.model.service}' at {where}; set alerting.name",
            )
        )
    return out
