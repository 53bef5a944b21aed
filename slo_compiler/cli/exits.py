"""Every exit code of the command line, stated once.

0 done (compiled, up to date, every SLO passed); 1 a failure the user must act on (bad
input, drift, a gate or budget failed, a load tool's own failure); 2 usage (click's own);
3 inconclusive (no data, a metric unknown, targets down: what we cannot see, we do not
pass); 4 a Prometheus that did not answer, or answered something that is no answer;
128 + the signal for a run ended by SIGINT, SIGTERM or SIGHUP.
"""

from __future__ import annotations

OK, FAILED, USAGE, INCONCLUSIVE, UNREACHABLE = 0, 1, 2, 3, 4


def signalled(signum: int) -> int:
    """The exit code of a run a signal ended, as shells report one."""
    return 128 + signum


def worst(*codes: int) -> int:
    """The code that wins: no answer over failed over no data over done."""
    for code in (UNREACHABLE, FAILED, INCONCLUSIVE):
        if code in codes:
            return code
    return max(codes, default=OK)
