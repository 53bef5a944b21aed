"""The SLO file format. These pydantic models are the single source of truth for it.

`slo-compiler schema` writes `schemas/slo.schema.json` from them, so what editors check
while typing and what the compiler accepts cannot drift apart. The models check shape and
single values; rules that span fields or files (PromQL, uniqueness, label clashes) live in
`checks.py`, where they can carry their own diagnostic codes.
"""

from __future__ import annotations

import itertools
import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..base.durations import DURATION_PATTERN, parse_duration
from ..base.tiers import TIER_NAMES

API_VERSION = "slo-compiler/v1"

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
# At most 150: Grafana titles (the name and the windows) are limited to 190 characters.
ALERT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,149}$"
RESERVED_LABEL = re.compile(r"^(slo|slo_.*|__.*)$")

# A link put on alerts and dashboards: http(s) only (a `javascript:` or `data:` link is a
# script one click away in Grafana and the chat tools), a host, no whitespace.
LINK_PATTERN = r"^https?://[^/?#\s]+[^\s]*$"

MIN_PERIOD = parse_duration("1d")
MAX_PERIOD = parse_duration("90d")


def _label_name(name: str) -> str:
    if RESERVED_LABEL.match(name):
        raise PydanticCustomError(
            "reserved_label",
            "label name '{name}' is reserved for slo-compiler (slo, slo_*, __*)",
            {"name": name},
        )
    return name


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as err:
        raise PydanticCustomError("duration", str(err)) from None
    return text


def _wait(text: str) -> str:
    try:
        parse_duration(text, allow_zero=True)
    except ValueError as err:
        raise PydanticCustomError("duration", str(err)) from None
    return text


def _period(text: str) -> str:
    seconds = parse_duration(_duration(text))
    if not MIN_PERIOD <= seconds <= MAX_PERIOD:
        raise PydanticCustomError(
            "duration", "period '{text}' is outside the supported range 1d to 90d", {"text": text}
        )
    return text


def _link(text: str) -> str:
    if not re.match(LINK_PATTERN, text):
        raise PydanticCustomError(
            "link",
            "'{text}' is not an http:// or https:// link with a host (no spaces)",
            {"text": text[:80]},
        )
    return text


Link = Annotated[str, AfterValidator(_link), Field(json_schema_extra={"pattern": LINK_PATTERN})]


def _objective(value: float) -> float:
    if math.isnan(value) or not 0 < value < 100:
        raise PydanticCustomError(
            "objective",
            "objective is a percentage of good events strictly between 0 and 100, got {value}",
            {"value": repr(value).removesuffix(".0")},
        )
    return value


def _instant(value: object) -> float:
    """A moment an objective changed, as written: a date (its midnight in UTC) or a date
    and time with its zone; unix seconds."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError(
                "instant", "'{value}' has no time zone: add Z or an offset such as +01:00",
                {"value": str(value)},
            )  # fmt: skip
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    if isinstance(value, str):
        try:
            return _instant(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise PydanticCustomError(
        "instant", "expected a date (2026-12-01) or a date and time with its zone, got {value}",
        {"value": repr(value)},
    )  # fmt: skip


Instant = Annotated[
    float,
    BeforeValidator(_instant),
    Field(json_schema_extra={"type": "string", "format": "date-time"}),
]
Objective = Annotated[
    float,
    Field(
        description="Percent of good events, e.g. 99.9.",
        json_schema_extra={"exclusiveMinimum": 0, "exclusiveMaximum": 100},
    ),
    AfterValidator(_objective),
]


Name = Annotated[
    str,
    Field(pattern=NAME_PATTERN, description="Lower-case letters, digits and dashes (max 63)."),
]
LabelName = Annotated[
    str,
    Field(
        pattern=LABEL_NAME_PATTERN, json_schema_extra={"not": {"pattern": RESERVED_LABEL.pattern}}
    ),
    AfterValidator(_label_name),
]
Labels = dict[LabelName, str]
Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, description="Prometheus duration, e.g. 5m, 1h30m, 30d."),
    AfterValidator(_duration),
]
Wait = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, description="Prometheus duration, e.g. 1m; 0s: none."),
    AfterValidator(_wait),
]
Selector = Annotated[
    str,
    Field(
        min_length=1,
        description='A plain PromQL vector selector: metric{label="value", ...}. '
        "The compiler builds rate() and sum by() around it.",
    ),
]


class _Strict(BaseModel):
    """No coercion ("99.5" is not a number) and no unknown fields: typos must not pass."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, regex_engine="python-re", allow_inf_nan=False
    )


def _exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> None:
    given = [name for name in fields if getattr(model, name) is not None]
    if len(given) != 1:
        raise PydanticCustomError(
            "one_of",
            "{what} needs exactly one of {fields}, got {given}",
            {"what": what, "fields": ", ".join(fields), "given": ", ".join(given) or "none"},
        )


class RatioSli(_Strict):
    """Bad events over all events, from two counters. Give `errors` or `good`, and `total`."""

    errors: Selector | None = Field(None, description="Counter of bad events.")
    good: Selector | None = Field(
        None, description="Counter of good events (errors = total - good)."
    )
    total: Selector = Field(description="Counter of all events.")

    @model_validator(mode="after")
    def _one_kind(self) -> RatioSli:
        _exactly_one(self, ("errors", "good"), "a ratio SLI")
        return self


class LatencySli(_Strict):
    """Share of events slower than a threshold, from a Prometheus histogram."""

    histogram: Selector = Field(
        description="Selector on the histogram's base name (without _bucket/_count), "
        'e.g. http_request_duration_seconds{service="api"}.'
    )
    threshold: float = Field(
        gt=0, description="Seconds; must be one of the histogram's bucket boundaries (le)."
    )


class RawSli(_Strict):
    """Escape hatch: an error-ratio PromQL expression, evaluated as written for every window."""

    error_ratio: str = Field(
        min_length=1,
        description="PromQL giving the error ratio (0..1); {{window}} stands for the window, "
        "e.g. sum(rate(errors[{{window}}])) / sum(rate(total[{{window}}])).",
    )


class Sli(_Strict):
    """How to measure: exactly one of ratio, latency or raw."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    ratio: RatioSli | None = None
    latency: LatencySli | None = None
    raw: RawSli | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Sli:
        _exactly_one(self, ("ratio", "latency", "raw"), "sli")
        return self


class Severity(_Strict):
    """Routing for one class of alert (page or ticket)."""

    labels: Labels = Field(default_factory=dict, description="Extra alert labels, e.g. severity.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Extra annotations.")


TierName = Literal[TIER_NAMES]  # type: ignore[valid-type]


class TierOptions(_Strict):
    """Changes to one burn-rate tier. Unset fields keep the workbook value scaled to the
    period; the short window defaults to the long window / 12."""

    enabled: bool = Field(True, description="false: this SLO has no alert for the tier.")
    long_window: Duration | None = Field(None, description="Long window, e.g. 1h.")
    short_window: Duration | None = Field(None, description="Short window, e.g. 5m.")
    factor: Annotated[float, Field(gt=0)] | None = Field(
        None, description="Burn factor: the tier fires above factor x error budget."
    )
    for_: Wait | None = Field(
        None,
        alias="for",
        description="How long the condition must hold before it fires (0s: at once).",
    )
    labels: Labels = Field(
        default_factory=dict, description="Alert labels for this tier, over page/ticket's."
    )


class Alerting(_Strict):
    """How the burn-rate alerts of this SLO are named and routed."""

    name: Annotated[str, Field(pattern=ALERT_NAME_PATTERN)] | None = Field(
        None, description="Alert name; default: the SLO name in CamelCase + 'BudgetBurn'."
    )
    runbook_url: Link | None = Field(
        None, description="Link put on every alert of this SLO (http or https)."
    )
    dashboard_url: Link | None = Field(
        None, description="Link to the SLO's dashboard (http or https)."
    )
    page: Severity = Field(
        default_factory=Severity, description="Fast-burn alerts (severity critical)."
    )
    ticket: Severity = Field(
        default_factory=Severity, description="Slow-burn alerts (severity warning)."
    )
    tiers: dict[TierName, TierOptions] = Field(
        default_factory=dict,
        description="Per-tier changes: page-fast (1h/5m, 14.4x for 30d), page-slow (6h/30m, "
        "6x), ticket-fast (1d/2h, 3x), ticket-slow (3d/6h, 1x).",
    )


class LoadTest(_Strict):
    """How a load tool's requests map to this SLO, for `slo-compiler loadtest thresholds`
    (client-side thresholds; the server-side gate, `verify`, has the last word)."""

    requests: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        description="Request names as the load tool reports them: Locust's name (the path "
        "unless the script names it), k6's `name` tag.",
    )
    method: str | None = Field(
        None, description="Only requests of this HTTP method; default: the SLI's method."
    )
    bad_status: str | None = Field(
        None,
        description="Statuses that count as bad, a regex matching the whole status (5.., "
        "409); default: the errors selector's status matcher, else 5..",
    )
    k6_tag: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*=[^,{}:]+$",
        description="NAME=VALUE, a tag the k6 script puts on this SLO's requests: its "
        "thresholds then hold over all of them together.",
    )


def _in_order(history: list[PastObjective]) -> list[PastObjective]:
    untils = [p.until for p in history]
    if any(b <= a for a, b in itertools.pairwise(untils)):
        raise PydanticCustomError("one_of", "each `until` must come after the one before it")
    return history


class PastObjective(_Strict):
    """An objective that held until a moment: reports and status judge the time before
    it by this one, not by today's."""

    objective: Objective
    until: Instant = Field(
        description="When it stopped holding: a date (midnight UTC) or a date and time with "
        "its zone, e.g. 2026-12-01 or 2026-12-01T09:00:00+01:00."
    )


class Slo(_Strict):
    """One service-level objective."""

    name: Name = Field(description="Unique within the service; used in rule labels (slo).")
    description: str = Field("", description="What a good event is, in words.")
    objective: Objective
    objective_history: Annotated[list[PastObjective], AfterValidator(_in_order)] = Field(
        default_factory=list,
        description="The objectives that held before this one, oldest first, each until "
        "when: a change of objective then does not rewrite past reports and budgets.",
    )
    period: Annotated[
        str,
        Field(pattern=DURATION_PATTERN, description="Rolling window of the objective (1d to 90d)."),
        AfterValidator(_period),
    ] = "30d"
    sli: Sli
    group_by: list[LabelName] = Field(
        default_factory=list,
        description="Evaluate the SLO separately per value of these labels (e.g. uri).",
    )
    labels: Labels = Field(default_factory=dict, description="Labels added to this SLO's rules.")
    alerting: Alerting = Field(default_factory=Alerting)
    loadtest: LoadTest | None = Field(
        None,
        description="Client-side thresholds' mapping (default for ratio SLIs: the uri, "
        "method and status matchers of the selectors).",
    )

    @property
    def alert_name(self) -> str:
        """The burn-rate alert's name: `alerting.name`, else the default."""
        return self.alerting.name or default_alert_name(self.name)


def default_alert_name(slo_name: str) -> str:
    """payment-failure-rate -> PaymentFailureRateBudgetBurn (alert names are CamelCase by
    custom): the name of an SLO's alerts when its file names none."""
    return "".join(part[:1].upper() + part[1:] for part in slo_name.split("-")) + "BudgetBurn"


class SloFile(_Strict):
    """A file in slos/: one service and its SLOs."""

    model_config = ConfigDict(title="slo-compiler SLO file")

    apiVersion: Literal["slo-compiler/v1"] = Field(description="Format version.")
    service: Name = Field(description="Service the SLOs belong to (label slo_service).")
    labels: Labels = Field(
        default_factory=dict, description="Labels added to every rule and alert, e.g. team."
    )
    scrape_interval: Duration = Field(
        "15s",
        description="How often Prometheus scrapes the service; windows shorter than 4 "
        "scrapes are refused.",
    )
    slos: list[Slo] = Field(min_length=1)
