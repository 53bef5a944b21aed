"""Positioned diagnostics: the only way the compiler reports a problem in its input.

Every stage appends to a list instead of raising at the first problem, so a user fixing a
file sees everything that is wrong with it in one run (the yamllint / ruff experience).
The codes are stable: they are documented in the README and tests pin one case per code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Characters that would break the one-line format or the terminal: C0/C1 controls (an
# escape sequence clears or retitles a terminal), the other Unicode line breaks (a forged
# line, in CI a forged workflow command), and the bidirectional marks, overrides and
# isolates (text that reorders what a reader sees).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def printable(text: str) -> str:
    """`text` safe to print on one line in any locale, from any source (file names,
    label values and error text from Prometheus, diagnostics): undecodable bytes of file
    names (surrogate escapes) as \\xNN, control, line-break and bidirectional characters
    escaped. Every text the commands print to a terminal, a CI log, Markdown, JUnit or
    HTML passes here."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNPRINTABLE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class Code(StrEnum):
    """Stable diagnostic codes. The first letter names the stage that found the problem."""

    # Y: reading and parsing the YAML file itself
    YAML_SYNTAX = "Y001"
    DUPLICATE_KEY = "Y002"
    NOT_A_DOCUMENT = "Y003"
    INPUT_LIMIT = "Y004"
    ENCODING = "Y005"
    READ_ERROR = "Y006"
    # S: shape of the document (the JSON Schema / pydantic model)
    UNKNOWN_FIELD = "S001"
    MISSING_FIELD = "S002"
    WRONG_TYPE = "S003"
    INVALID_VALUE = "S004"
    API_VERSION = "S005"
    # V: values that are well-formed but cannot work
    OBJECTIVE = "V001"
    DURATION = "V002"
    WINDOW = "V003"
    RESERVED_LABEL = "V004"
    TIER_UNREACHABLE = "V005"
    UNPUBLISHED_BUCKET = "V006"
    # P: PromQL
    PROMQL_SYNTAX = "P001"
    NOT_A_SELECTOR = "P002"
    UNKNOWN_FUNCTION = "P003"
    PROMQL_TOO_LARGE = "P004"
    PROMQL_TYPE = "P005"
    RAW_PLACEHOLDER = "P006"
    # N: names and uniqueness across files
    DUPLICATE_SLO = "N001"
    OUTPUT_CLASH = "N002"
    LABEL_CLASH = "N003"
    ALERT_NAME_CLASH = "N004"
    # C: the config file (slo-compiler.yaml)
    LITERAL_SECRET = "C001"
    UNKNOWN_RECEIVER = "C002"
    DUPLICATE_RECEIVER = "C003"
    UNROUTED = "C004"
    ALERTMANAGER_UNSUPPORTED = "C005"
    # O: the output folder
    OUTPUT_REFUSED = "O001"
    OUTPUT_WRITE = "O002"
    OUTPUT_BUSY = "O003"
    # K: the Kubernetes output
    OUTPUT_TOO_LARGE = "K001"
    # I: importing another tool's specs (`slo-compiler import`)
    IMPORT_NOT_A_SPEC = "I001"
    IMPORT_DROPPED = "I002"
    IMPORT_RAW_SLI = "I003"
    IMPORT_CHANGED = "I004"
    IMPORT_IMPOSSIBLE = "I005"
    IMPORT_EXISTS = "I006"


_EXCERPT = 40


def excerpt(value: object) -> str:
    """A value quoted in a message: at most a short excerpt, since the value may be what a
    file should never have held (a token) and messages end up in CI logs."""
    text = repr(value)
    if len(text) <= _EXCERPT:
        return text
    return f"{text[: _EXCERPT - 1]}… ({len(str(value))} characters)"


def first_few(items: list[str], shown: int) -> str:
    """`a, b, c and 4 more`: a list named in one line of a message or a summary."""
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. Ordered by file, then position, so output is stable."""

    path: str
    line: int
    col: int
    code: Code
    message: str
    level: str = "error"  # or "warning": only the importer reports what it had to change

    def __str__(self) -> str:
        return printable(
            f"{self.path}:{self.line}:{self.col}: {self.level}[{self.code.value}]: {self.message}"
        )


class CompileError(Exception):
    """Raised at the end of a stage that found problems; carries all of them, sorted."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(set(diagnostics))
        super().__init__(f"{len(self.diagnostics)} error(s)")
