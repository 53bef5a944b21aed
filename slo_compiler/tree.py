"""A generated tree: paths to file contents, some rendered only when read.

A large compile's generated tests are most of its bytes (about 30 KB per SLO): holding
every file until the write made memory grow with the fleet (465 MiB at 5,000 SLOs). The
writer reads a tree once, in path order, writing and comparing each file as it comes, so
a deferred file exists in memory only while it is written. Reading it again renders it
again: the same bytes, at the cost of the rendering. Files that must be rendered with the
compile (their PromQL is validated before anything is written) wait compressed (`pack`).

Deferred files are rendered in groups (one rule file's tests), and `Tree.read` renders
the groups on every core of the machine, in order: they were two thirds of a large
compile's time.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

# A group renders all its files at once: a module-level function (so that a worker
# process can be handed it) and its arguments.
Render = Callable[..., dict[str, bytes]]


@dataclass(frozen=True)
class Deferred:
    """One file of a group, rendered with the group when read."""

    render: Render
    args: tuple[Any, ...]
    path: str

    def __call__(self) -> bytes:
        return _group(self.render, self.args)[self.path]


@lru_cache(maxsize=1)
def _group(render: Render, args: tuple[Any, ...]) -> dict[str, bytes]:
    """The last group rendered: a group's files are next to each other in path order."""
    return render(*args)


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
        groups = list(
            dict.fromkeys(
                (c.render, c.args) for c in self._entries.values() if isinstance(c, Deferred)
            )
        )
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
                    yield path, content if isinstance(content, bytes) else content()


def _cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _worker() -> None:
    """A worker leaves interrupts to the compile, which stops the pool and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_FORKED: list[tuple[Render, tuple[Any, ...]]] = []


def _render_group(index: int) -> dict[str, bytes]:
    render, args = _FORKED[index]
    return render(*args)


def pack(data: bytes) -> Content:
    """`data`, held compressed until it is read: generated text compresses about 15x, in
    2 ms a MB (the rule files and dashboards of 5,000 SLOs: 93 MB, 6 MB packed)."""
    return partial(zlib.decompress, zlib.compress(data, 1))
