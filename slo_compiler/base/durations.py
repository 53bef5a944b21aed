"""Prometheus duration strings <-> whole seconds.

Windows end up in rule names (`slo:sli_error:ratio_rate1h`), in range selectors and in
`for:` fields, so one canonical spelling matters: `90m` and `1h30m` must not produce two
different rule names for the same window. We parse every unit Prometheus accepts but
always print days, hours, minutes and seconds, largest first.
"""

from __future__ import annotations

import re
from functools import lru_cache

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_ORDER = "ywdhms"
DURATION_PATTERN = r"^([0-9]+(y|w|d|h|m|s))+$"
_PART = re.compile(r"([0-9]+)([ywdhms])")
# Prometheus keeps a duration in int64 nanoseconds: about 292 years, and no more.
MAX_SECONDS = (2**63 - 1) // 10**9


def parse_duration(text: str, allow_zero: bool = False) -> int:
    """Seconds in a Prometheus duration such as `30d` or `1h30m`.

    Units must appear at most once and largest first, as Prometheus requires; milliseconds
    are refused because no SLO window is finer than a second. Zero only where it means
    "none" (`allow_zero`: an alert's `for`).
    """
    shown = text if len(text) <= 40 else f"{text[:20]}...{text[-8:]}"
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"'{shown}' is not a duration like 5m, 1h30m or 30d")
    parts = _PART.findall(text)
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units) or units != sorted(units, key=_ORDER.index):
        raise ValueError(f"'{shown}': units must each appear once, largest first (e.g. 1h30m)")
    # Past 20 digits every number is out of range; Python refuses to read 4,300 or more.
    if any(len(number.lstrip("0")) > 20 for number, _ in parts):
        raise ValueError(f"'{shown}' is longer than Prometheus accepts (about 292 years)")
    seconds = sum(int(number) * _UNITS[unit] for number, unit in parts)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"'{shown}' is not a positive duration")
    if seconds > MAX_SECONDS:
        raise ValueError(f"'{shown}' is longer than Prometheus accepts (about 292 years)")
    return seconds


@lru_cache(maxsize=4096)  # pure; a few windows are printed thousands of times
def format_duration(seconds: int) -> str:
    """Canonical spelling of a whole number of seconds: `5m`, `1h`, `2d19h12m`, `0s`."""
    if seconds < 0:
        raise ValueError("durations are not negative")
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"
