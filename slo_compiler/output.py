"""Writing `generated/`: the output edge. All or nothing, and only when something changed.

The new tree is written to a temporary sibling folder and swapped in with one rename
(Linux `renameat2(RENAME_EXCHANGE)` where available), so a crash, a full disk or Ctrl-C
leaves either the old tree or the new one, never a mix. Files the sources no longer
produce disappear with the old tree. An unchanged tree is not rewritten at all, which
keeps file times (and make-style tools) quiet.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> list[str]:
        return (
            [f"+ {p}" for p in self.added]
            + [f"~ {p}" for p in self.changed]
            + [f"- {p}" for p in self.removed]
        )


def read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def diff(folder: Path, files: dict[str, bytes]) -> Changes:
    """What writing `files` to `folder` would change."""
    current = read_tree(folder)
    return Changes(
        added=sorted(set(files) - set(current)),
        changed=sorted(p for p in files if p in current and current[p] != files[p]),
        removed=sorted(set(current) - set(files)),
    )


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux >= 3.15); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def write_tree(folder: Path, files: dict[str, bytes]) -> Changes:
    """Make `folder` hold exactly `files`; returns what changed."""
    changes = diff(folder, files)
    if not changes:
        return changes
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        for rel, data in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staging.chmod(0o755)
        if not folder.exists():
            staging.rename(folder)
        elif not _exchange(staging, folder):
            old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
            old.rmdir()
            folder.rename(old)
            staging.rename(folder)
            staging = old
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return changes
