"""A generated tree: paths to file contents, most rendered only when read.

A large compile's files are tens of KB per SLO (its generated tests most of them): holding
every file until the write would make memory grow with the fleet (bench/RESULTS.md). The
targets leave the per-SLO-file outputs deferred (what they must check before anything is
written, the PromQL of Grafana's queries, they check while deferring); the writer reads
the tree once, writing and comparing each file as it comes, so a deferred file exists in
memory only while it is written. Reading one again renders it again: the same bytes, at
the cost of the rendering.

Deferred files are rendered in groups (a rule file's tests; a dashboard). Given helper
processes (helpers.py), the writer has them rendered and written there (`Tree.split`: all
the groups of one SLO file in one task): they are most of a large compile's time.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# A group renders all its files at once: a module-level function (a helper process is
# handed it by name) and its arguments, the first of them the SLO file's plan.
Render = Callable[..., dict[str, bytes]]


@dataclass(frozen=True, eq=False)
class Deferred:
    """One file of a group, rendered with the group when read. A group is its render
    function and its argument objects (compared by identity: a plan, a config)."""

    render: Render
    args: tuple[Any, ...]
    path: str

    def __call__(self) -> bytes:
        """This file alone (its group rendered for it: a Tree read in path order renders a
        group once)."""
        return self.render(*self.args)[self.path]


@dataclass(frozen=True)
class Packed:
    """A file's bytes, compressed: a deferred file that a target needing another's files
    read already (Tree(keep=True)). The writer takes these bytes instead of rendering the
    file again, and a fleet's dashboards wait at a tenth of their size."""

    data: bytes

    @classmethod
    def of(cls, raw: bytes) -> Packed:
        return cls(zlib.compress(raw, 1))

    def __call__(self) -> bytes:
        return zlib.decompress(self.data)


def _same(a: Deferred, b: Deferred) -> bool:
    """Whether two deferred files belong to one group."""
    return a.render is b.render and all(x is y for x, y in zip(a.args, b.args, strict=True))


Content = bytes | Callable[[], bytes]
Task = list[tuple[Render, tuple[Any, ...]]]  # the groups of one SLO file


class Renderer(Protocol):
    """What runs tasks elsewhere (helpers.Helpers): `function` (module-level, or a partial
    of one) on each task, the results as they come, in any order; `stop` ends whatever is
    still running (before the writer removes what it was writing into)."""

    def map(self, function: Callable[[Task], Any], tasks: Iterable[Task]) -> Iterator[Any]: ...

    def stop(self) -> None: ...


def render_task(groups: Task) -> dict[str, bytes]:
    """Every file of a task's groups."""
    files: dict[str, bytes] = {}
    for render, args in groups:
        files.update(render(*args))
    return files


class Tree(Mapping[str, bytes]):
    """Paths in sorted order to contents; a deferred content is rendered at each read."""

    def __init__(self, entries: Mapping[str, Content], keep: bool = False) -> None:
        self._entries = dict(sorted(entries.items()))
        # The last group read: a group's files are next to each other in path order, so
        # reading the tree in order renders each group once.
        self._last: tuple[Deferred, dict[str, bytes]] | None = None
        # With `keep`, what was rendered, compressed (targets.render_targets).
        self.kept: dict[str, Packed] | None = {} if keep else None

    def __getitem__(self, path: str) -> bytes:
        content = self._entries[path]
        if isinstance(content, bytes):
            return content
        if not isinstance(content, Deferred):
            return content()
        if self.kept is not None and path in self.kept:
            return self.kept[path]()
        if self._last is None or not _same(self._last[0], content):
            self._last = (content, content.render(*content.args))
        data = self._last[1][content.path]
        if self.kept is not None:
            self.kept[path] = Packed.of(data)
        return data

    def packed(self, path: str) -> Packed:
        """The file compressed: kept from its rendering with `keep` (read it first),
        else packed now."""
        if self.kept is not None and path in self.kept:
            return self.kept[path]
        return Packed.of(self[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def split(self) -> tuple[list[str], list[Task]]:
        """The paths of the files rendered here, and the deferred ones as tasks: one per
        SLO file, with every group of it. Its targets each hold plans of their own (the
        rule files and tests one per SLO), which share the SLOs' plans: pickled in one
        task, each SLO's plan goes once (unpickling them was most of what the helpers
        spent beyond rendering: bench/RESULTS.md)."""
        plain: list[str] = []
        bundles: dict[str, list[Deferred]] = {}  # by SLO file: the first file of each group
        for path, content in self._entries.items():
            if not isinstance(content, Deferred):
                plain.append(path)
                continue
            bundle = bundles.setdefault(content.args[0].source, [])
            if not any(_same(group, content) for group in bundle):
                bundle.append(content)
        return plain, [[(g.render, g.args) for g in bundle] for bundle in bundles.values()]
