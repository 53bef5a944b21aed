"""Finding and reading SLO files and the config: the input edge of the compiler.

Only regular files are read. A folder that cannot be listed or a file that cannot be read
is an error (Y006), never a silent "0 SLOs" that would then remove every rule. A FIFO or
device is refused without being opened (opening a FIFO blocks). A symlink may point only
inside the SLO folder: one that leads elsewhere (`slos/ci.yaml -> ~/.git-credentials`)
is refused before a byte of it is read, so its content can never reach an error message
and a CI log.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Code, CompileError, Diagnostic
from .config import CONFIG_FILE
from .yamlpos import MAX_FILE_BYTES

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Source:
    """One SLO file. `path` is how messages name it (as the user typed the folder);
    `name` is how generated headers name it (stable on every machine); `stem` is its
    path below the SLO folder without extension, which names its outputs."""

    path: str
    name: str
    stem: str
    data: bytes


def _error(path: str, message: str) -> Diagnostic:
    return Diagnostic(path, 1, 1, Code.READ_ERROR, message)


def _unreadable(path: Path, roots: tuple[Path, ...] | None) -> str | None:
    """Why `path` must not be read, or None: not a regular file, or a link out of `root`."""
    try:
        real = Path(os.path.realpath(path))
        mode = os.stat(path).st_mode
    except OSError as err:
        return f"cannot read: {err.strerror}"
    if roots is not None and not any(real == r or r in real.parents for r in roots):
        return "is a symlink to a file outside the SLO folder; it is not read"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a FIFO, socket or device); it is not read"
    return None


def _read_bytes(
    path: Path, shown: str, roots: tuple[Path, ...] | None
) -> tuple[bytes | None, Diagnostic | None]:
    why = _unreadable(path, roots)
    if why is not None:
        return None, _error(shown, why)
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1), None
    except OSError as err:
        return None, _error(shown, f"cannot read: {err.strerror}")


def read_file(path: str) -> tuple[bytes | None, Diagnostic | None]:
    """One file named on the command line, read up to the input limit (Y004 beyond). Unlike
    a file found in a folder, a pipe named here is read: `--compare <(git show main:x)`."""
    if Path(path).is_dir():
        return None, _error(path, "is a folder, not a file")
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1), None
    except OSError as err:
        return None, _error(path, f"cannot read: {err.strerror}")


class _Walk:
    """One walk of an SLO folder: what it found, every problem, and the real folders a file
    may resolve into (the folder, and the folders linked in it, each read once)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.root = Path(folder)
        self.real_root = self.root.resolve()
        self.roots = [self.real_root]
        self.found: list[Source] = []
        self.problems: list[Diagnostic] = []

    def shown(self, path: Path) -> str:
        """How messages name a path: below the folder as the user typed it."""
        return os.path.join(self.folder, path.relative_to(self.root).as_posix())

    def unlistable(self, err: OSError) -> None:
        shown = err.filename if isinstance(err.filename, str) else self.folder
        self.problems.append(_error(shown, f"cannot list this folder: {err.strerror}"))

    def followed(self, dirpath: str, name: str) -> bool:
        """A linked folder is read when it stays inside the repository (Y006 else, never
        a silent skip that would compile zero SLOs); each real folder once."""
        path = Path(dirpath) / name
        if not path.is_symlink():
            return True
        real = Path(os.path.realpath(path))
        boundary = repository(self.real_root)
        if real != boundary and boundary not in real.parents:
            why = "is a symlink to a folder outside the repository; it is not read"
        elif any(r in real.parents or real in r.parents for r in self.roots):
            why = "is a symlink to a folder that holds or is in the SLO folder; it is not read"
        elif real == self.real_root:
            why = "is a symlink to the SLO folder itself; it is not read"
        elif real in self.roots:
            return False  # already read through another link
        else:
            self.roots.append(real)
            return True
        self.problems.append(_error(self.shown(path), why))
        return False

    def file(self, path: Path, suffixes: tuple[str, ...]) -> None:
        """One entry of a folder: read if it is an SLO file, an error if it is a link to
        nothing (a renamed folder's SLOs would vanish in silence, and their generated
        files with them)."""
        if path.is_symlink() and not path.exists():
            target = os.readlink(path)
            self.problems.append(
                _error(
                    self.shown(path),
                    f"is a symlink to {target}, which does not exist; it is not read",
                )
            )
            return
        if not path.name.endswith(suffixes):
            return
        rel = path.relative_to(self.root).as_posix()
        data, problem = _read_bytes(path, self.shown(path), tuple(self.roots))
        if problem is not None:
            self.problems.append(problem)
            return
        self.found.append(
            Source(
                path=self.shown(path),
                name=f"{self.real_root.name}/{rel}",
                stem=rel.rsplit(".", 1)[0],
                data=data or b"",
            )
        )


def discover(folder: str, suffixes: tuple[str, ...] = SUFFIXES) -> list[Source]:
    """Every *.yaml / *.yml file (or `suffixes`) below `folder` (hidden ones skipped), sorted
    by path so the result does not depend on the file system's directory order."""
    if not Path(folder).is_dir():
        raise CompileError([_error(folder, "SLO folder does not exist or is not a directory")])
    walk = _Walk(folder)
    for dirpath, dirnames, filenames in os.walk(
        walk.root, onerror=walk.unlistable, followlinks=True
    ):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and walk.followed(dirpath, d)
        )
        for filename in sorted(f for f in filenames if not f.startswith(".")):
            walk.file(Path(dirpath) / filename, suffixes)
    if walk.problems:
        raise CompileError(walk.problems)
    return sorted(walk.found, key=lambda s: s.stem)


def repository(folder: Path) -> Path:
    """The git work tree holding `folder` (the folder itself outside one): how far a linked
    folder may lead."""
    for candidate in (folder, *folder.parents):
        try:
            if (candidate / ".git").exists():
                return candidate
        except OSError:
            continue  # a folder we may not look into holds no repository we can use
    return folder


def _upwards(start: Path, outside: int) -> list[Path]:
    """`start` and the folders above it, up to the git repository that holds it (outside
    a repository, `outside` levels up): as far as a project's files reach."""
    chain = [start, *start.parents]
    top = next((i for i, d in enumerate(chain) if (d / ".git").exists()), outside)
    return chain[: top + 1]


def find_slo_folder(name: str = "slos") -> Path | None:
    """The SLO folder (absolute) when the default `slos` is not here: the nearest `slos/`
    above the current folder, for a user who runs a command from inside it (or from
    another subfolder of the repository). None when there is none."""
    for folder in _upwards(Path.cwd(), 1)[1:]:
        if (folder / name).is_dir():
            return folder / name
    return None


def find_config(slos: str) -> Path | None:
    """The config used when none is named: ./slo-compiler.yaml, else the nearest one
    above the SLO folder, looking no higher than the git repository that holds it (only
    the SLO folder's parent outside a repository)."""
    here = Path(CONFIG_FILE)
    if here.is_file():
        return here
    for folder in _upwards(Path(os.path.realpath(slos)).parent, 0):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return Path(os.path.relpath(candidate))
    return None


def read_config(path: str | None, slos: str = "slos") -> tuple[Source | None, str | None]:
    """The config file (`path` if given: it must exist, else `find_config`) and a note to
    print when it was found somewhere other than the current folder."""
    file = Path(path) if path is not None else find_config(slos)
    if file is None:
        return None, None
    note = None
    if path is None and file != Path(CONFIG_FILE):
        note = f"note: using the config {file} (none in the current folder)"
    data, problem = _read_bytes(file, str(file), None)
    if problem is not None:
        raise CompileError([problem])
    return Source(path=str(file), name=file.name, stem=file.stem, data=data or b""), note


def read_beside(config_source: Source | None, name: str | None) -> Source | None:
    """A file the config names (kubernetes.prometheus_config_file, alertmanager.base),
    relative to the config file; None when it names none."""
    if config_source is None or name is None:
        return None
    path = Path(config_source.path).parent / name
    data, problem = _read_bytes(path, str(path), None)
    if problem is not None:
        raise CompileError([problem])
    shown = os.path.normpath(os.path.join(os.path.dirname(config_source.name), name))
    return Source(path=str(path), name=shown, stem=Path(name).stem, data=data or b"")
