"""Times on the command line: RFC 3339, unix seconds, `now` or `now-20m`; and windows."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ..rules.durations import parse_duration

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
        return float(text)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeSpecError(
            f"'{text}' is not a time: use RFC 3339 (2026-11-27T10:00:00Z), unix seconds or now-20m"
        ) from None
    if stamp.tzinfo is None:
        raise TimeSpecError(f"'{text}' has no time zone: add Z or an offset such as +01:00")
    return stamp.timestamp()


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
