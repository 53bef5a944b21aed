"""SLO file names as output names: each names generated files, ConfigMap keys and headers."""

from __future__ import annotations

import re

from ...diagnostics import Code, Diagnostic
from ..files import Source

# A file name (each folder too) becomes a ConfigMap key and part of generated paths and
# headers: Kubernetes allows these characters in keys. Outputs are named
# `<stem>.<slo>.every-<interval>.test.yaml` (an SLO name has up to 63 characters): 150
# keeps them under a file system's 255 bytes and a ConfigMap key's 253 characters.
_FILE_NAME = re.compile(r"[-._a-zA-Z0-9]+")
MAX_FILE_NAME = 150


def check_names(sources: list[Source]) -> list[Diagnostic]:
    """File names that cannot name outputs, or that name the same outputs as another file:
    ConfigMap keys use the base name, and case-insensitive file systems fold case."""
    problems = []
    taken: dict[str, str] = {}
    for source in sources:
        parts = source.stem.split("/")
        base = source.path.rsplit("/", 1)[-1]
        bad = [p for p in parts if not _FILE_NAME.fullmatch(p)]
        if bad or len(base) > MAX_FILE_NAME:
            why = (
                f"'{bad[0]}' has characters a ConfigMap key cannot hold: use letters, digits, "
                "'-', '_' and '.'"
                if bad
                else f"the file name is {len(base)} characters long (at most {MAX_FILE_NAME})"
            )
            problems.append(Diagnostic(source.path, 1, 1, Code.OUTPUT_CLASH, f"{why}; rename it"))
            continue
        for key, what in (
            (source.stem.lower(), "the same output files"),
            (parts[-1].lower(), "the same ConfigMap keys"),
        ):
            first = taken.setdefault(f"{what}\0{key}", source.path)
            if first != source.path:
                problems.append(
                    Diagnostic(
                        source.path,
                        1,
                        1,
                        Code.OUTPUT_CLASH,
                        f"compiles to {what} as {first} (file names must differ in more than "
                        "case and folder); rename one of them",
                    )
                )
                break
    return problems
