"""Finding and reading SLO files: the input edge of the compiler."""

from __future__ import annotations

import os
from pathlib import Path

from .compiler import Source
from .config import CONFIG_FILE
from .diagnostics import Code, CompileError, Diagnostic
from .yamlpos import MAX_FILE_BYTES

SUFFIXES = (".yaml", ".yml")


def discover(folder: str) -> list[Source]:
    """Every *.yaml / *.yml file below `folder` (hidden ones skipped), sorted by path so the
    result does not depend on the file system's directory order."""
    root = Path(folder)
    if not root.is_dir():
        raise CompileError(
            [
                Diagnostic(
                    folder, 1, 1, Code.READ_ERROR, "SLO folder does not exist or is not a directory"
                )
            ]
        )
    found = []
    problems = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith(".") or not filename.endswith(SUFFIXES):
                continue
            path = Path(dirpath) / filename
            rel = path.relative_to(root).as_posix()
            try:
                with path.open("rb") as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
            except OSError as err:
                problems.append(
                    Diagnostic(str(path), 1, 1, Code.READ_ERROR, f"cannot read: {err.strerror}")
                )
                continue
            found.append(
                Source(
                    path=os.path.join(folder, rel),
                    name=f"{root.resolve().name}/{rel}",
                    stem=rel.rsplit(".", 1)[0],
                    data=data,
                )
            )
    if problems:
        raise CompileError(problems)
    return sorted(found, key=lambda s: s.stem)


def read_config(path: str | None) -> Source | None:
    """The config file: `path` if given (it must exist), else slo-compiler.yaml if present."""
    explicit = path is not None
    file = Path(path if explicit else CONFIG_FILE)
    if not explicit and not file.is_file():
        return None
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise CompileError(
            [Diagnostic(str(file), 1, 1, Code.READ_ERROR, f"cannot read: {err.strerror}")]
        ) from None
    return Source(path=str(file), name=file.name, stem=file.stem, data=data)
