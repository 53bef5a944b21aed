"""Helper processes that render a tree's deferred files (tree.py) while the writer writes.

The generated tests and dashboards of a large compile are most of its time; rendered on
every core (MAX_HELPERS at most) while the one writer compares and writes, a compile
costs about what its writing does. The pool is an explicit object: a command that writes
starts it (`with helpers() as renderer`) and hands it to the writer; nothing else forks.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..emit.tree import Task

# Beyond a few helpers the writer (one process) is the bottleneck, and each helper holds
# its own copy of the plans: a many-core CI runner must not fork one a core.
MAX_HELPERS = 4
# Tasks (SLO files) a helper is handed at a time: handed one at a time, a compile of many
# one-SLO files spends a share of its rendering in the pool's queues; a few keep the
# helpers evenly busy to the end.
CHUNK = 4
# Seconds the pool gets to stop before its helpers are killed.
STOP_GRACE = 5
_CAUGHT = {signal.SIGINT, signal.SIGTERM}


class Helpers:
    """A started pool of helper processes (tree.Renderer)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def map(self, function: Callable[[Task], Any], tasks: Iterable[Task]) -> Iterator[Any]:
        return self._pool.imap(function, tasks, CHUNK)

    def stop(self) -> None:
        _stop(self._pool)


@contextmanager
def helpers() -> Iterator[Helpers | None]:
    """Helper processes, one per core (MAX_HELPERS at most), forked now: at the start of
    a command, before the compile fills this process's heap. Forked later, a helper's
    every allocation lands in pages it shares with the compile and copies them; each is
    handed its work pickled. With one core or without fork, None: everything renders in
    this process."""
    count = min(_cores(), MAX_HELPERS)
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    # Forked with SIGINT and SIGTERM blocked: a helper would otherwise inherit the
    # command's handler and, signalled before `_helper` sets its own, print a traceback of
    # the command's Interrupted. Held signals reach this process when the fork is done.
    signal.pthread_sigmask(signal.SIG_BLOCK, _CAUGHT)
    try:
        pool = multiprocessing.get_context("fork").Pool(count, _helper, (os.getpid(),))
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _CAUGHT)
    try:
        yield Helpers(pool)
    finally:
        _stop(pool)


def _stop(pool: Any) -> None:
    """End the pool, within STOP_GRACE. Pool.terminate joins the pool's own threads, and
    one of them reading a result a helper was killed in the middle of sending (an error,
    a signal) never returns: the join is waited for in a thread of its own, then whatever
    helper is left is killed. The pool's threads are daemons, so none holds the exit."""
    stopper = threading.Thread(target=pool.terminate, daemon=True, name="stop-helpers")
    stopper.start()
    stopper.join(STOP_GRACE)
    for child in multiprocessing.active_children():
        child.kill()


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _helper(parent: int) -> None:
    """A helper leaves interrupts to the command, which stops the pool and cleans up; it
    dies with the command however the command ends; and its collector leaves alone what
    it inherited (a collection touching those objects would copy their pages)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _CAUGHT)  # blocked by the fork, see helpers()
    die_with(parent)
    gc.freeze()


# prctl(2) option: the signal this process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, loaded once: loaded in a child forked from a threaded process, the
    loader's lock could be held by a thread that the fork did not copy."""
    return ctypes.CDLL(None, use_errno=True)


def die_with(parent: int) -> None:
    """SIGKILL when the command's process ends, on Linux. A helper that outlives it (a
    signal between the pool's fork and its bookkeeping, a queue lock left held by a killed
    sibling) keeps the command's stdout and stderr open: the CI step reading them waits
    forever, though the command has exited. The kernel's death signal needs no
    bookkeeping; the parent check covers a parent that ended before it was set."""
    if not sys.platform.startswith("linux"):
        return
    libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
