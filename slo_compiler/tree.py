"""A generated tree: paths to file contents, most rendered only when read.

A large compile's files are about 50 KB per SLO (its generated tests most of it): holding
every file until the write made memory grow with the fleet (465 MiB at 5,000 SLOs). The
targets leave the per-SLO-file outputs deferred (what they must check before anything is
written, the PromQL of Grafana's queries, they check while deferring); the writer reads
the tree once, in path order, writing and comparing each file as it comes, so a deferred
file exists in memory only while it is written. Reading one again renders it again: the
same bytes, at the cost of the rendering.

Deferred files are rendered in groups (a rule file's tests; a dashboard), and
`Tree.read` renders the groups on every core of the machine, in order: they were most of
a large compile's time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# A group renders all its files at once: a module-level function (so that a worker
# process can be handed it) and its arguments.
Render = Callable[..., dict[str, bytes]]


@dataclass(frozen=True, eq=False)
class Deferred:
    """One file of a group, rendered with the group when read. A group is its render
    function and its argument objects (compared by identity: a plan, a config)."""

    render: Render
    args: tuple[Any, ...]
    path: str

    def __call__(self) -> bytes:
        global _last
        if _last is None or not _same(_last[0], self):
            _last = (self, self.render(*self.args))
        return _last[1][self.path]


# The last group rendered in this process: a group's files are next to each other in
# path order, so reading a tree renders each group once.
_last: tuple[Deferred, dict[str, bytes]] | None = None


def _same(a: Deferred, b: Deferred) -> bool:
    """Whether two deferred files belong to one group."""
    return a.render is b.render and all(x is y for x, y in zip(a.args, b.args, strict=True))


Content = bytes | Callable[[], bytes]


class Tree(Mapping[str, bytes]):
    """Paths in sorted order to contents; a deferred content is rendered at each read."""

    def __init__(self, entries: Mapping[str, Content]) -> None:
        self._entries = dict(sorted(entries.items()))

    def __getitem__(self, path: str) -> bytes:
        content = self._entries[path]
        return content if isinstance(content, bytes) else content()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def read(self) -> Iterator[tuple[str, bytes]]:
        """Every file once, in path order, the deferred groups rendered in parallel (each
        group's files together, in worker processes forked from this one, which has
        everything they need) where the machine has more than one core and fork."""
        groups: list[Deferred] = []  # the first file of each group, in path order
        for content in self._entries.values():
            if isinstance(content, Deferred) and not (groups and _same(groups[-1], content)):
                groups.append(content)
        workers = min(len(groups), _cores())
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            yield from self.items()
            return
        # Forked workers find the groups where this process left them: a task is an index,
        # not a pickled plan.
        _FORKED[:] = groups
        with multiprocessing.get_context("fork").Pool(workers, _worker) as pool:
            rendered = pool.imap(_render_group, range(len(groups)))
            files: dict[str, bytes] = {}
            for path, content in self._entries.items():
                if isinstance(content, Deferred):
                    if path not in files:
                        files = next(rendered)
                    yield path, files.pop(path)
                else:
                    yield path, self[path]


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _worker() -> None:
    """A worker leaves interrupts to the compile, which stops the pool and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_FORKED: list[Deferred] = []


def _render_group(index: int) -> dict[str, bytes]:
    first = _FORKED[index]
    return first.render(*first.args)
