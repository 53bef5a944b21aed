"""Text from another system (label values Prometheus returned, reasons quoting them) made
safe for a Markdown table cell: diagnostics.printable (the one function for a terminal, a
CI log, JUnit's XML and HTML), then Markdown's and HTML's syntax escaped."""

from __future__ import annotations

import re

from ..diagnostics import printable

_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~#])")


def markdown_cell(text: str) -> str:
    """`text` as the literal content of a Markdown table cell: printable, with Markdown's
    and HTML's syntax characters backslash-escaped (a `|` would end the cell, a `<` open a
    tag, a `_` start emphasis)."""
    return _MARKDOWN.sub(r"\\\1", printable(text)).replace("&", "&amp;")
