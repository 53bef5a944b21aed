"""`slo-compiler explain`: what each tier of an SLO will do, before anyone deploys it.

Pure: plans in, a document (for `--format json`) or text out. Every number comes from
`burnrate` (windows, factors, thresholds, the detection model), so what explain promises
is what the rules and the generated promtool tests do.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..base.durations import format_duration
from ..source.config import Config
from .burnrate import (
    BASE_RATE_WINDOW,
    FINE_SLICE,
    RECORDED_WINDOW_MIN,
    SLICE,
    Slices,
    Tier,
    decimal_str,
    detection,
    is_recorded,
    lag,
)
from .ir import AlertRule, SloPlan, title
from .routes import receiver_for

# Burn rates explain reports: multiples of the sustainable rate (1x spends exactly the
# budget over the period). A total outage is 1 / budget.
BURNS = (Decimal(2), Decimal(10), Decimal(100))


def human(seconds: Decimal) -> str:
    """1m51.84s, 51.84s, 2d12h: whole units as Prometheus writes them, seconds to 0.01."""
    whole_minutes = int(seconds // 60) * 60
    rest = (seconds - whole_minutes).quantize(Decimal("0.01"))
    text = format_duration(whole_minutes) if whole_minutes else ""
    if rest or not text:
        text += f"{decimal_str(rest)}s"
    return text


def _burns(budget: Decimal) -> list[tuple[str, Decimal]]:
    outage = 1 / budget
    return [("total outage", outage)] + [(f"{decimal_str(b)}x", b) for b in BURNS if b < outage]


def _share(value: Decimal) -> float:
    """A share of the budget to six decimals: the model's quotients do not terminate
    (1000 x 111.84s / 30d), and six places print as written, like every other ratio."""
    return float(value.quantize(Decimal("0.000001")))


def _alert(rule: AlertRule, config: Config) -> dict[str, Any]:
    """What on-call sees of one alert rule: the name its engine gives it, its severity,
    `for`, and where the config's routing sends it."""
    labels = dict(rule.labels)
    receiver = receiver_for(config, labels)
    if config.grafana_alerts:
        receiver = receiver or "Grafana's default contact point"
    elif receiver is None or "alertmanager" not in config.model_fields_set:
        receiver = "Alertmanager's routes"  # its own configuration, not written by us
    return {
        "alert": title(rule) if config.grafana_alerts else rule.alert,
        "tier": rule.tier.name if rule.tier else rule.check,
        "severity": labels.get("severity", ""),
        "for": format_duration(rule.for_),
        "receiver": receiver,
    }


def _tier(tier: Tier, budget: Decimal, interval: int, slices: Slices | None) -> dict[str, Any]:
    burns = []
    for label, burn in _burns(budget):
        d = detection(tier, burn, interval, slices=slices)
        burns.append(
            {
                "burn": label,
                "burn_rate": float(burn),
                "error_ratio": float(burn * budget),
                "detect_seconds": None if d.detect is None else float(d.detect),
                "fires_seconds": None if d.fires is None else float(d.fires),
                "budget_spent_when_firing": None
                if d.budget_spent is None
                else _share(d.budget_spent),
            }
        )
    return {
        "tier": tier.name,
        "slo_tier": tier.severity,  # the alerts' label of the same name: page or ticket
        "long_window": format_duration(tier.long_window),
        "short_window": format_duration(tier.short_window),
        "long_window_from_recorded_rates": is_recorded(tier.long_window),
        "factor": float(tier.factor),
        "error_ratio_threshold": float(tier.threshold(budget)),
        "for": format_duration(tier.for_),
        "budget_spent_at_detection": float(tier.budget_spent),
        "burns": burns,
    }


def document(plans: list[SloPlan], interval: int, config: Config) -> dict[str, Any]:
    """What `explain --format json` prints, for rules evaluated every `interval` seconds."""
    return {
        "slos": [
            {
                "service": p.service,
                "slo": p.name,
                "objective_percent": float(p.objective),
                "error_budget": float(p.budget),
                "period": format_duration(p.period),
                "evaluation_interval": format_duration(interval),
                "group_by": list(p.group_by),
                "tiers": [_tier(t, p.budget, interval, p.slices) for t in p.tiers],
                "alerts": [_alert(r, config) for r in p.alerts],
            }
            for p in plans
        ]
    }


def _shown(value: Decimal) -> str:
    """A number for people: exact when it has at most seven significant digits, else
    rounded to six with a leading ~ (a 99.3% objective's factor-3 threshold is 2.1%, not
    2.099999999999999999999999999%). The rules keep the exact value."""
    if value.is_zero() or len(value.normalize().as_tuple().digits) <= 7:
        return decimal_str(value)
    return "~" + decimal_str(value.quantize(Decimal(1).scaleb(value.adjusted() - 5)))


def _cell(tier: Tier, burn: Decimal, interval: int, slices: Slices | None) -> str:
    d = detection(tier, burn, interval, slices=slices)
    if d.detect is None:
        return "never"
    return f"{human(d.detect)}+{format_duration(tier.for_)}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def text(plans: list[SloPlan], interval: int, config: Config) -> str:
    """The table `explain` prints: one block per SLO, one row per tier, for rules
    evaluated every `interval` seconds (the config's rule evaluation interval); then the
    alerts as on-call meets them, and where they go."""
    out = []
    for p in plans:
        grouping = f", per {', '.join(p.group_by)}" if p.group_by else ""
        out.append(
            f"{p.service}/{p.name}: objective {_shown(p.objective)}% over "
            f"{format_duration(p.period)}, error budget {_shown(p.budget * 100)}%{grouping}"
        )
        burns = _burns(p.budget)
        header = ["tier", "windows", "factor", "threshold", "for", "budget spent"]
        header += [f"{label} ({_shown(b * p.budget * 100)}% errors)" for label, b in burns]
        rows = [header]
        for t in p.tiers:
            rows.append(
                [
                    t.name,
                    f"{format_duration(t.long_window)}/{format_duration(t.short_window)}"
                    + ("*" if is_recorded(t.long_window) else ""),
                    f"{_shown(t.factor)}x",
                    f"{_shown(t.threshold(p.budget) * 100)}%",
                    format_duration(t.for_),
                    f"{_shown(t.budget_spent * 100)}%",
                    *(_cell(t, b, interval, p.slices) for _, b in burns),
                ]
            )
        out += ["  " + line for line in _table(rows)]
        if not p.tiers:
            out.append("  (every tier is disabled: no burn-rate alerts)")
        alerts = [["alert", "tier", "severity", "for", "receiver"]]
        alerts += [list(_alert(r, config).values()) for r in p.alerts]
        alerts = [[row[1], row[0], *row[2:]] for row in alerts]
        out += ["  " + line for line in _table(alerts)]
        out.append("")
    out.append(
        "Cells: time from the start of a constant burn until both windows exceed the "
        "threshold, + the tier's `for` (then it fires), with rules evaluated every "
        f"{format_duration(interval)}. budget spent: share of the period's budget "
        f"gone at detection. Windows are summed from slices recorded every "
        f"{format_duration(FINE_SLICE)} (every {format_duration(SLICE)}: *), which trail a "
        f"change by {human(lag(BASE_RATE_WINDOW))} ({human(lag(RECORDED_WINDOW_MIN))}) on "
        "average; a * window weighs one slice more (both included)."
    )
    return "\n".join(out) + "\n"
