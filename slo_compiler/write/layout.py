"""generated/README.md: what each folder of the generated tree is and how to use it.

Written last, from the files the targets produced, so it describes exactly the folders
that exist in this compile (a `--target` subset gets a shorter README).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..emit.text import header, header_line
from ..targets import Folder

README = "README.md"
GITIGNORE = ".gitignore"
# The list of the files a compile wrote, its proof that it may replace the folder (folder.py).
MANIFEST = ".slo-compiler-manifest"
# What the last compile was made from (record.py); in the folder, never part of the tree.
RECORD = ".slo-compiler-cache.json"


def readme(
    files: Iterable[str], sources: list[str], folders: list[Folder], sections: list[str] = ()
) -> bytes:
    """The README of the tree: a row per target's folder present (`folders`, as the
    targets describe them), then their `sections` (lines of Markdown, e.g. the Kubernetes
    Component's disk estimate)."""
    present = {path.rsplit("/", 1)[0] for path in files}
    lines = [
        f"<!-- {header_line(sources)} -->",
        "",
        "# generated/",
        "",
        "Everything here is written by `slo-compiler compile` from `slos/` and "
        "`slo-compiler.yaml`. Do not edit it: change the sources, compile, and commit both "
        "together. CI runs `slo-compiler check`, which fails when this tree is stale.",
        "",
        "| folder | what | how to use |",
        "|---|---|---|",
    ]
    lines += [f"| `{f.path}/` | {f.what} | {f.how} |" for f in folders if f.path in present]
    if sections:
        lines += ["", *sections]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")


def ownership(files: Iterable[str], sources: list[str]) -> dict[str, bytes]:
    """The manifest that proves the folder is ours (see folder.py), and a .gitignore that keeps
    the record of the last compile out of git."""
    listed = sorted({*files, GITIGNORE})
    manifest = (
        header(sources)
        + "# The files slo-compiler wrote into this folder. It replaces the folder only while\n"
        + "# it holds nothing else, so move anything of your own elsewhere.\n"
        + "".join(f"{path}\n" for path in listed)
    )
    ignore = header(sources) + f"/{RECORD}\n"
    return {MANIFEST: manifest.encode("utf-8"), GITIGNORE: ignore.encode("utf-8")}
