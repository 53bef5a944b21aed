"""Text from another system (label values Prometheus returned, reasons quoting them) made
safe for the reports' three destinations, one function each, applied where a report's
text is put together: a terminal or CI log (`printable`), a Markdown table cell
(`markdown_cell`), and XML, which cannot hold most control characters even escaped
(`printable` too, before ElementTree escapes the markup)."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional overrides
# and isolates (text that reorders what a reader sees).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~#])")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control or reordering character written as an escape (`\\x1b`):
    an escape sequence from a label value cannot drive the terminal, a newline cannot
    forge a line of the report."""
    return _UNPRINTABLE.sub(_escape, text)


def markdown_cell(text: str) -> str:
    """`text` as the literal content of a Markdown table cell: printable, with Markdown's
    and HTML's syntax characters backslash-escaped (a `|` would end the cell, a `<` open a
    tag, a `_` start emphasis)."""
    return _MARKDOWN.sub(r"\\\1", printable(text)).replace("&", "&amp;")
