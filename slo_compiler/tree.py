"""A generated tree: paths to file contents, some rendered only when read.

A large compile's generated tests are most of its bytes (about 50 KB per SLO): holding
every file until the write made memory grow with the fleet (465 MiB at 5,000 SLOs). The
writer reads a tree once, in path order, writing and comparing each file as it comes, so
a deferred file exists in memory only while it is written. Reading it again renders it
again: the same bytes, at the cost of the rendering. Files that must be rendered with the
compile (their PromQL is validated before anything is written) wait compressed (`pack`).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from functools import partial

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


def pack(data: bytes) -> Content:
    """`data`, held compressed until it is read: generated text compresses about 15x, in
    2 ms a MB (the rule files and dashboards of 5,000 SLOs: 93 MB, 6 MB packed)."""
    return partial(zlib.decompress, zlib.compress(data, 1))
