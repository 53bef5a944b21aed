"""Times on the command line: RFC 3339, unix seconds, `now` or `now-20m`; windows; and
calendar periods (a month, a quarter, an ISO week) in a time zone."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..base.durations import format_duration, parse_duration

_RELATIVE = re.compile(r"^now(?:-(?P<ago>.+))?$")


def iso(t: float) -> str:
    """A report's timestamps: RFC 3339 in UTC, to the second."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TimeSpecError(ValueError):
    """A time the command line cannot read; the message says what is accepted."""


def parse_time(text: str, now: float) -> float:
    """Unix seconds of `text`: `2026-11-27T10:00:00Z`, `1795860000`, `now`, `now-20m`."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        ago = relative["ago"]
        return now - (parse_duration(ago) if ago else 0)
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise TimeSpecError(f"'{text}' is not a time: unix seconds are a finite number")
        return seconds
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"'{text}' is not a time: use RFC 3339 (2026-11-27T10:00:00Z), unix seconds or now-20m"
        ) from None
    if stamp.tzinfo is None:
        raise TimeSpecError(f"'{text}' has no time zone: add Z or an offset such as +01:00")
    return stamp.timestamp()


# The most evaluation steps a command looks at in one range: a replay, a coverage check
# and a report build a list of them before any query (half a year at 15s, two at 1m).
MAX_STEPS = 1_000_000


def capped(begin: float, finish: float, step: float) -> tuple[float, float]:
    """The range, refused before anything is built for it where it holds more than
    MAX_STEPS steps, naming the largest range at this step."""
    if (finish - begin) / step > MAX_STEPS:
        largest = format_duration(int(MAX_STEPS * step))
        raise TimeSpecError(
            f"the range is {format_duration(int(finish - begin))}, over {MAX_STEPS:,} "
            f"evaluations of {format_duration(int(step)) if step >= 1 else f'{step}s'}: "
            f"the largest range at this evaluation interval is {largest}"
        )
    return begin, finish


def window(start: str | None, end: str | None, last: str | None, now: float) -> tuple[float, float]:
    """The checked window, from --from/--to or --last (which ends now)."""
    if last is not None:
        if start is not None or end is not None:
            raise TimeSpecError("give either --last or --from/--to, not both")
        return now - parse_duration(last), now
    if start is None:
        raise TimeSpecError("give --from (and --to, default now) or --last")
    begin, finish = parse_time(start, now), parse_time(end or "now", now)
    if finish <= begin:
        raise TimeSpecError("--to must be after --from")
    return begin, finish


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)


def calendar(kind: str, text: str, zone: str = "UTC") -> tuple[float, float]:
    """A calendar period's [start, end) in unix seconds, in time zone `zone` (an IANA
    name): `month` 2026-11, `quarter` 2026-Q4, `week` 2026-W48 (ISO 8601 weeks start on
    Monday)."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeSpecError(
            f"'{zone}' is not a time zone: use an IANA name such as Europe/Berlin"
        ) from None
    pattern = {"month": _MONTH, "quarter": _QUARTER, "week": _WEEK}[kind]
    found = pattern.match(text.strip())
    example = {"month": "2026-11", "quarter": "2026-Q4", "week": "2026-W48"}[kind]
    if not found:
        raise TimeSpecError(f"'{text}' is not a {kind}: write it as {example}")
    year, number = int(found[1]), int(found[2])
    try:
        if kind == "week":
            first = date.fromisocalendar(year, number, 1)
            begin, finish = first, first + timedelta(days=7)
        else:
            months = 1 if kind == "month" else 3
            month = number if kind == "month" else 3 * (number - 1) + 1
            begin = date(year, month, 1)
            after = month - 1 + months
            finish = date(year + after // 12, after % 12 + 1, 1)
    except ValueError as err:
        raise TimeSpecError(f"'{text}' is not a {kind}: {err}") from None

    def moment(day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()

    return moment(begin), moment(finish)


def local(t: float, zone: str) -> str:
    """A time as a report's reader reads it: in the report's time zone, to the minute,
    with the zone's abbreviation (2026-11-03 14:05 CET)."""
    return datetime.fromtimestamp(t, ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
