"""YAML -> plain Python data plus a map from each value's path to its line and column.

PyYAML's `safe_load` forgets positions and silently keeps the last of two duplicate keys,
so it cannot give `path:line:col` diagnostics. We compose the node tree ourselves and
convert it with three guarantees that matter for files written by many hands in CI:

* every problem in a file is reported, each at its position (duplicate keys included);
* hostile input is bounded before it can hurt: file size, nesting depth (checked on the
  event stream, which PyYAML parses without recursion) and the number of values after
  alias expansion (the "billion laughs" bomb);
* YAML 1.1's bare `=` value tag is read as a string instead of crashing the constructor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..diagnostics import Code, Diagnostic

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_VALUES = 100_000

Path = tuple[str | int, ...]
Position = tuple[int, int]

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader without the YAML 1.1 `=` (value) implicit tag."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:value"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded document was written."""

    path: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def position(self, loc: Path, *, key: bool = False) -> Position:
        """Position of `loc`, or of its nearest ancestor that was written in the file.

        A missing field has no position of its own; pointing at the mapping that lacks it
        is what users expect.
        """
        loc = tuple(loc)
        while True:
            if key and loc in self.keys:
                return self.keys[loc]
            if loc in self.values:
                return self.values[loc]
            if not loc:
                return (1, 1)
            loc = loc[:-1]

    def diagnostic(
        self, loc: Path, code: Code, message: str, *, key: bool = False, level: str = "error"
    ) -> Diagnostic:
        line, col = self.position(loc, key=key)
        return Diagnostic(self.path, line, col, code, message, level)


@dataclass
class Document:
    data: Any
    source: SourceMap


def items(doc: Document) -> list[Document]:
    """A document whose top level is a list, as one document per item (OpenSLO's tools
    accept a file of objects in a list), each item's positions its own; any other
    document as it is."""
    if not isinstance(doc.data, list):
        return [doc]

    def under(positions: dict[Path, Position], i: int) -> dict[Path, Position]:
        return {loc[1:]: at for loc, at in positions.items() if loc[:1] == (i,)}

    source = doc.source
    return [
        Document(item, SourceMap(source.path, under(source.values, i), under(source.keys, i)))
        for i, item in enumerate(doc.data)
    ]


def _mark(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


def decode(path: str, raw: bytes) -> tuple[str | None, list[Diagnostic]]:
    """Bytes -> text, refusing oversized and non-UTF-8 files with the offending position."""
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Diagnostic(
                path,
                1,
                1,
                Code.INPUT_LIMIT,
                f"file is {len(raw)} bytes; the limit is {MAX_FILE_BYTES} bytes",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [
            Diagnostic(
                path,
                line,
                col,
                Code.ENCODING,
                f"not UTF-8: byte 0x{raw[err.start]:02x} cannot be decoded",
            )
        ]
    return text.removeprefix("\ufeff"), []


def _check_depth(path: str, text: str) -> list[Diagnostic]:
    """Walk the event stream (no recursion) and refuse documents nested too deeply."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line, col = _mark(event.start_mark)
                    return [
                        Diagnostic(
                            path,
                            line,
                            col,
                            Code.INPUT_LIMIT,
                            f"nesting deeper than {MAX_DEPTH} levels",
                        )
                    ]
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as err:
        return [_syntax(path, text, err)]
    except yaml.YAMLError as err:
        return [Diagnostic(path, 1, 1, Code.YAML_SYNTAX, str(err))]
    return []


def _syntax(path: str, text: str, err: yaml.MarkedYAMLError) -> Diagnostic:
    mark = err.problem_mark or err.context_mark
    line, col = _mark(mark) if mark else (1, 1)
    problem = err.problem or "invalid YAML"
    if err.context:
        problem = f"{problem} ({err.context})"
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][col - 1 : col] == "\t":
        problem += "; YAML does not allow tabs for indentation, use spaces"
    return Diagnostic(path, line, col, Code.YAML_SYNTAX, problem)


class _Converter:
    """Node tree -> Python values, recording positions and collecting problems."""

    def __init__(self, loader: Any, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[Diagnostic] = []
        self.count = 0

    def problem(self, node: Any, code: Code, message: str) -> None:
        line, col = _mark(node.start_mark)
        self.problems.append(Diagnostic(self.source.path, line, col, code, message))

    def convert(self, node: Any, loc: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooLarge(node)
        self.source.values.setdefault(loc, _mark(node.start_mark))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: Any) -> Any:
        try:
            return self.loader.construct_object(node)
        except yaml.constructor.ConstructorError as err:
            self.problem(node, Code.YAML_SYNTAX, err.problem or "cannot read this value")
            return None
        except ValueError:  # an integer of thousands of digits: Python refuses to convert
            self.problem(node, Code.INPUT_LIMIT, "this number has too many digits")
            return None

    def _mapping(self, node: Any, loc: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self.problem(
                    key_node,
                    Code.YAML_SYNTAX,
                    "merge keys (<<) are not supported: write the fields out",
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, Code.YAML_SYNTAX, "mapping keys must be plain scalars")
                continue
            key = self._scalar(key_node)
            if key in seen:
                line, col = seen[key]
                self.problem(
                    key_node,
                    Code.DUPLICATE_KEY,
                    f"duplicate key '{key}' (first defined at line {line}, column {col})",
                )
                continue
            seen[key] = _mark(key_node.start_mark)
            self.source.keys[(*loc, key)] = seen[key]
            out[key] = self.convert(value_node, (*loc, key))
        return out


class _TooLarge(Exception):
    def __init__(self, node: Any) -> None:
        self.node = node


def _empty(node: Any) -> bool:
    """No document, or one that is nothing at all ("---" alone)."""
    return node is None or (node.tag == "tag:yaml.org,2002:null" and not node.value)


def _documents(path: str, raw: bytes, many: bool) -> tuple[list[Document] | None, list[Diagnostic]]:
    text, problems = decode(path, raw)
    if text is None:
        return None, problems
    problems = _check_depth(path, text)
    if problems:
        return None, problems
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        roots = []
        if many:
            while loader.check_node():
                roots.append(loader.get_node())
        else:
            roots.append(loader.get_single_node())
        for root in roots:
            if _empty(root):
                continue
            source = SourceMap(path)
            converter = _Converter(loader, source)
            documents.append(Document(converter.convert(root, ()), source))
            problems += converter.problems
    except yaml.MarkedYAMLError as err:
        return None, [_syntax(path, text, err)]
    except _TooLarge as err:
        line, col = _mark(err.node.start_mark)
        return None, [
            Diagnostic(
                path,
                line,
                col,
                Code.INPUT_LIMIT,
                f"more than {MAX_VALUES} values after expanding aliases",
            )
        ]
    finally:
        loader.dispose()
    if not documents:
        return None, [Diagnostic(path, 1, 1, Code.NOT_A_DOCUMENT, "file is empty")]
    # Duplicate keys and unreadable scalars do not stop validation of the rest of the file.
    return documents, problems


def load(path: str, raw: bytes) -> tuple[Document | None, list[Diagnostic]]:
    """Parse one file: the document (None if unreadable) and every problem found in it."""
    documents, problems = _documents(path, raw, many=False)
    return (documents[0] if documents else None), problems


def load_all(path: str, raw: bytes) -> tuple[list[Document], list[Diagnostic]]:
    """Every document of a multi-document file (other tools' specs, Kubernetes manifests),
    each with its own source map; empty documents (a leading `---`) are skipped."""
    documents, problems = _documents(path, raw, many=True)
    return documents or [], problems
