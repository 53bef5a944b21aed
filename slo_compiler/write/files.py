"""Writing `generated/`: the output edge. All or nothing, and only when something changed.

The new tree is written to a temporary sibling folder, a file at a time as it is compared
with the old one (a tree's files are rendered as they are read: tree.py), and swapped in
with one rename (Linux `renameat2(RENAME_EXCHANGE)` where available), so a crash, a full
disk or Ctrl-C leaves either the old tree or the new one, never a mix. Files the sources
no longer produce disappear with the old tree. An unchanged tree is not swapped in at all,
which keeps file times (and make-style tools) quiet.

Replacing a folder deletes what it held, so this module never decides *where* to write:
`folder.prepare` proves the folder is ours first. Signals are deferred from the swap to
the end of the cleanup (for the command line, to the end of the run), so an interrupt
reports the state it left rather than a traceback or a wrong one.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..emit.tree import Renderer, Task, Tree, render_task
from .layout import RECORD

# Files in the output folder that are not part of the compiled tree: the record of the
# last compile (a local speed-up, ignored by git through the generated .gitignore).
# Prefixes of the sibling folders a write uses; a killed run can leave them behind.
STAGING, OLD = "tmp", "old"


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Signals that came once the new tree was being swapped in: held, so the write
    # succeeded; the caller says so (with write_tree's `hold`, the list goes on filling).
    signals: list[int] = field(default_factory=list)
    tree: str = ""  # the digest of the compiled tree (tree_digest), for the record

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> list[str]:
        return (
            [f"+ {p}" for p in self.added]
            + [f"~ {p}" for p in self.changed]
            + [f"- {p}" for p in self.removed]
        )


def entries(folder: Path) -> Iterator[tuple[str, Path, int]]:
    """(path below `folder`, path, lstat mode) of everything below it, in path order;
    an entry removed while it is listed (by hand, by another program) is left out, not a
    traceback."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue
        yield path.relative_to(folder).as_posix(), path, mode


# Where a file's mark of who wrote it stands: its first bytes.
HEAD_BYTES = 4096


def head(path: Path) -> bytes:
    """The first bytes of a file, where a writer's mark is."""
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def walk(folder: Path) -> Iterator[tuple[str, Path]]:
    """The regular files below `folder` (symlinks not followed), the record excepted, in
    path order."""
    for rel, path, mode in entries(folder):
        if rel != RECORD and stat.S_ISREG(mode):
            yield rel, path


def strays(folder: Path) -> list[str]:
    """What a compile never writes but may find in its folder: symlinks, special files and
    empty folders. `check` counts them as drift; `compile` removes empty folders only."""
    found = []
    for rel, path, mode in entries(folder):
        if stat.S_ISDIR(mode):
            with suppress(FileNotFoundError):
                if not any(path.iterdir()):
                    found.append(rel + "/")
        elif not stat.S_ISREG(mode):
            found.append(rel)
    return found


def _same_as(path: Path, data: bytes) -> bool | None:
    """Whether the regular file at `path` holds `data`; None where there is none."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        return path.read_bytes() == data
    except FileNotFoundError:
        return None


def _put(staging: Path | None, rel: str, data: bytes) -> None:
    if staging is not None:
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _written(
    staging: Path | None, folder: Path, groups: Task
) -> dict[str, tuple[bytes, bool | None]]:
    """A task's files, in a helper process: rendered, each compared with the file in
    `folder` and written below `staging`, so that creating the files (a third of a large
    compile on a slow disk: bench/RESULTS.md) runs on every core. Returns each file's
    digest and whether `folder` holds it as it is (None: not at all)."""
    out = {}
    for rel, data in render_task(groups).items():
        out[rel] = (file_digest(data), _same_as(folder / rel, data))
        _put(staging, rel, data)
    return out


def _compare(
    folder: Path, files: Mapping[str, bytes], staging: Path | None, renderer: Renderer | None
) -> Changes:
    """What writing `files` to `folder` changes, reading each file of `files` once (a
    deferred one is rendered here, or by the helpers: in any order) and each existing
    file as it is compared, never a whole tree at a time; each new file is written below
    `staging` as it comes, if given (by the helper that rendered it, if any)."""
    current = dict(walk(folder))
    changes = Changes(removed=sorted({*(set(current) - set(files)), *strays(folder)}))
    digests: dict[str, bytes] = {}

    def record(rel: str, digest: bytes, same: bool | None) -> None:
        digests[rel] = digest
        if rel not in current:
            changes.added.append(rel)
        elif not same:
            changes.changed.append(rel)

    plain, tasks = files.split() if isinstance(files, Tree) and renderer else (list(files), [])
    for rel in plain:
        data = files[rel]
        record(rel, file_digest(data), _same_as(folder / rel, data))
        _put(staging, rel, data)
    if tasks:
        assert renderer is not None
        try:
            for results in renderer.map(partial(_written, staging, folder), tasks):
                for rel, (digest, same) in results.items():
                    record(rel, digest, same)
        except BaseException:
            renderer.stop()  # no helper may go on writing below staging once it goes
            raise
    assert len(digests) == len(files), "every file of the tree, once"
    changes.added.sort()
    changes.changed.sort()
    changes.tree = tree_digest(sorted(digests.items()))
    return changes


def diff(folder: Path, files: Mapping[str, bytes], renderer: Renderer | None = None) -> Changes:
    """What writing `files` to `folder` would change."""
    return _compare(folder, files, None, renderer)


def file_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tree_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """The digest of a tree from its (path, file_digest) pairs in path order: what the
    record of a compile holds (record.py)."""
    digest = hashlib.sha256()
    for path, data_digest in files:
        digest.update(path.encode() + b"\0" + data_digest)
    return digest.hexdigest()


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


@contextmanager
def _signals_deferred(restore: bool = True) -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM until the block ends (for good, without `restore`); yields
    the signals that came, a list that goes on filling while they are held."""
    received: list[int] = []
    caught = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, _f: received.append(signum)) for s in caught}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            if restore:
                signal.signal(s, handler)


@contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held through a step that must end whole (a file written and
    counted as written), then delivered."""
    with _signals_deferred() as held:
        yield
    _deliver(held)


def sibling(folder: Path, kind: str) -> str:
    """The name prefix of a temporary sibling of `folder` (see STAGING, OLD)."""
    return f".{folder.name}.{kind}-"


class RemovalError(OSError):
    """The new tree is in place, but the old one could not be removed (the message names
    the first path that stayed; the next compile sweeps what is left)."""


def write_tree(
    folder: Path,
    files: Mapping[str, bytes],
    hold: bool = False,
    renderer: Renderer | None = None,
    before_swap: Callable[[], object] | None = None,
) -> Changes:
    """Make `folder` (a real path, already proven ours) hold exactly `files`; returns what
    changed. Raises RemovalError when the new tree is in place but the old one stays.
    The new tree is written beside the old one as it is compared with it, and swapped in
    only if something changed (an unchanged tree keeps its files and their times).
    SIGINT and SIGTERM are held from the swap on, until it is complete; with `hold`, for
    the rest of the process (the command line: once the tree is in place, what is left
    of the run reports it, and an interrupt must not turn that into "nothing changed")."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging: Path | None = None
    problems: list[str] = []
    received: list[int] = []
    try:
        # A signal inside mkdtemp (after its mkdir, in its own Python code) would leave
        # the folder made and unnamed, so never removed: it is held until staging is set.
        with _signals_deferred() as early:
            staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=sibling(folder, STAGING)))
        _deliver(early)
        changes = _compare(folder, files, staging, renderer)
        if not changes:
            return changes
        if before_swap is not None:
            before_swap()  # the folder may have changed while the tree was written
        staging.chmod(0o755)
        with _signals_deferred(restore=not hold) as received:
            old = _swap(staging, folder)
            staging = old  # what is left to remove: the old tree, or nothing
            if old is not None:
                shutil.rmtree(
                    old, onerror=lambda _f, path, exc: problems.append(f"{path}: {exc[1]}")
                )
    finally:
        if staging is not None and staging.exists():
            _remove_whole(staging)
    if problems:
        raise RemovalError(
            f"the new tree is in place, but not all of the old one is gone: {problems[0]}"
        )
    changes.signals = received
    return changes


def _remove_whole(tree: Path) -> None:
    """Remove a staging (or old) tree whole, then let a signal that came meanwhile act: a
    Ctrl-C during the removal would stop it half-way and leave the rest beside the
    folder."""
    with _signals_deferred() as late:
        shutil.rmtree(tree, ignore_errors=True)
    _deliver(late)


def _deliver(held: list[int]) -> None:
    """Send this process the first of the signals held, now that its handler is back."""
    for signum in held[:1]:
        os.kill(os.getpid(), signum)


def _swap(staging: Path, folder: Path) -> Path | None:
    """Put `staging` where `folder` is; returns where the old tree went (None if none)."""
    if not folder.exists():
        staging.rename(folder)
        return None
    if _exchange(staging, folder):
        return staging
    old = Path(tempfile.mkdtemp(dir=folder.parent, prefix=sibling(folder, OLD)))
    old.rmdir()
    folder.rename(old)
    staging.rename(folder)
    return old


def _umask() -> int:
    """The process's umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path: Path, data: bytes) -> None:
    """One file replaced atomically: written beside it, then renamed over it, so a reader
    never sees half of it (an SLO file written by `import`, a thresholds file, a report).
    It keeps the mode of the file it replaces, or gets what a new file gets here (the
    temporary file's own 0600 would lock a team out of its files)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
