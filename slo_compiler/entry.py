"""The console script's first code: signals are handled before anything heavy loads.

Importing the command line (click, the compiler, the writers) takes a noticeable time on
a loaded machine, and a Ctrl-C then must not end in a KeyboardInterrupt traceback: the
handlers are installed before anything else loads. Nothing has been read or written yet
at that point, so the early handler ends the process at once with the same one line and
exit code as a later interrupt.
"""

from __future__ import annotations

import os
import signal

from .base.interrupts import interrupted


def _before_start(signum: int, _frame: object) -> None:
    """Interrupted while the command line loads: nothing started, nothing to clean up."""
    os.write(2, f"{interrupted(signum)}\n".encode())
    os._exit(128 + signum)


def main() -> None:
    """The `slo-compiler` console script and `python -m slo_compiler`."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _before_start)
    from .cli import main as run

    run()
