"""The load tool run so that it never outlives `loadtest run`, whatever ends the run.

A tool started in a session of its own can be signalled as a group, but a group is no
container: a tool's child that calls setsid leaves it, and a run ended by SIGKILL (or a
SIGHUP nobody handles) leaves the tool running, holding the caller's stdout and stderr
open (the CI step waits forever). So, where the system allows it, the tool runs as the
first process of a PID namespace of its own (util-linux `unshare`): when that process
ends, the kernel kills every process in the namespace, escaped sessions included; and it
ends when the run does, by the kernel's parent-death signal (`--kill-child` on unshare,
PR_SET_PDEATHSIG on unshare itself). Where namespaces are not allowed (an unprivileged
container), the tool gets the parent-death signal directly, and this process becomes a
subreaper that kills what is left of the tool's descendants once it has stopped: only a
SIGKILL of the run can then leave a grandchild behind, and `loadtest run` says so.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from contextlib import suppress

from ..write.helpers import die_with, libc

# prctl(2): adopt orphaned descendants, as init does.
_PR_SET_CHILD_SUBREAPER = 36
# The ways of getting a PID namespace, the privileged one first.
_NAMESPACES = (
    ("--pid", "--fork", "--kill-child"),
    ("--user", "--map-current-user", "--pid", "--fork", "--kill-child"),
)


@functools.cache
def _namespace() -> tuple[str, ...] | None:
    """The unshare command line that gives a PID namespace here, or None."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    for flags in _NAMESPACES:
        with suppress(OSError, subprocess.SubprocessError):
            tried = subprocess.run(
                [unshare, *flags, "true"], capture_output=True, timeout=10, check=False
            )
            if tried.returncode == 0:
                return (unshare, *flags, "--")
    return None


def contained() -> bool:
    """Whether a tool started here runs in a PID namespace of its own."""
    return _namespace() is not None


def start(command: list[str]) -> subprocess.Popen[bytes]:
    """`command` in a session (a process group) of its own, in a PID namespace where one
    can be had, dying with this process."""
    prefix = _namespace()
    if sys.platform.startswith("linux"):
        libc()  # loaded here, never in the forked child (die_with runs there)
        if prefix is None:
            libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    parent = os.getpid()
    return subprocess.Popen(
        [*(prefix or ()), *command],
        start_new_session=True,
        preexec_fn=functools.partial(die_with, parent),
    )


def reap() -> None:
    """SIGKILL to every process this one adopted (the tool's descendants that left its
    group, orphaned to this subreaper), until none is left. Nothing to do in a PID
    namespace, which the kernel empties."""
    if _namespace() is not None or not sys.platform.startswith("linux"):
        return
    me = str(os.getpid())
    for _ in range(100):
        children = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with suppress(OSError, IndexError), open(f"/proc/{entry.name}/stat") as stat:
                # After the command's name (which may hold spaces): state, then ppid.
                if stat.read().rsplit(")", 1)[1].split()[1] == me:
                    children.append(int(entry.name))
        if not children:
            return
        for pid in children:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with suppress(ChildProcessError):
                os.waitpid(pid, 0)
