"""SIGINT and SIGTERM as an exception that unwinds a run (so that it can clean up),
raised where the program was: the command line installs the handler, the writers hold
it while they swap a tree in, and the load-test gate passes it on to the load tool."""

from __future__ import annotations

import signal


class Interrupted(BaseException):
    """SIGINT or SIGTERM (or SIGHUP, where a command handles it), raised where the program
    was (never during a swap)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def raise_interrupted(signum: int, _frame: object) -> None:
    """The CLI's handler for SIGINT and SIGTERM (CI cancels send SIGTERM)."""
    raise Interrupted(signum)


def interrupted(signum: int) -> str:
    """The one line a run ended by SIGINT or SIGTERM prints, whenever the signal came."""
    return f"slo-compiler: interrupted ({signal.Signals(signum).name}); nothing was changed."
