"""What the last compile into a folder was made from, so `check` can skip compiling.

`check` must say whether `generated/` is exactly what the sources compile to. Compiling
answers that, at the cost of a compile. But if the inputs (SLO files, config, targets and
the compiler itself, code and libraries) are byte for byte those of the last compile
into that folder, and the folder's files are byte for byte what that compile wrote, the
answer is known without compiling. `compile` records both digests in the folder it owns
(layout.RECORD, which the generated .gitignore keeps out of git and the drift check
skips); `check` compares them and compiles only when either differs. A missing or
unreadable record just means a full check. Anyone can write the record, so CI and
`check --strict` never trust it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import suppress
from functools import cache
from importlib import metadata
from pathlib import Path

from ..source.files import Source
from .files import file_digest, tree_digest, walk
from .layout import RECORD

_LIBRARIES = ("pyyaml", "pydantic", "promql-parser", "google-re2")


@cache
def _compiler_digest() -> str:
    """The compiler's own code and the versions of the libraries that shape its output."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(name.encode())
    return digest.hexdigest()


def inputs_digest(
    sources: Iterable[Source], others: Iterable[Source | None], targets: Iterable[str]
) -> str:
    """The SLO files, the other inputs (config, platform manifest), targets and compiler."""
    digest = hashlib.sha256(_compiler_digest().encode())
    for source in [*sorted(sources, key=lambda s: s.path), *(o for o in others if o)]:
        digest.update(f"{source.path}\0{source.name}\0".encode() + source.data + b"\0")
    digest.update("\0".join(targets).encode())
    return digest.hexdigest()


def _record(folder: Path) -> Path:
    return folder / RECORD


def remember(folder: Path, inputs: str, tree: str) -> None:
    """Write the record (`tree`: the digest of the tree written, output.tree_digest),
    unless it already says this (an unchanged compile touches nothing)."""
    text = json.dumps({"inputs": inputs, "tree": tree})
    with suppress(OSError):  # a record is an optimisation; without it check compiles
        record = _record(folder)
        if not record.is_file() or record.read_text() != text:
            record.write_text(text)


def unchanged(folder: Path, inputs: str) -> bool:
    """True when `folder` holds what the compile recorded in it wrote, and that compile
    was made from `inputs`; the folder is read a file at a time."""
    try:
        record = json.loads(_record(folder).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("inputs") != inputs:
        return False
    return record == {"inputs": inputs, "tree": folder_digest(folder)}


def folder_digest(folder: Path) -> str:
    """The tree_digest of what `folder` holds, read a file at a time."""
    return tree_digest((rel, file_digest(path.read_bytes())) for rel, path in walk(folder))
