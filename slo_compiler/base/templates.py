"""Go templates in alert labels and annotations (Prometheus and Grafana expand both).

Two kinds of user text reach them. Plain text (an SLO's description, every label value)
goes through `literal`, the one escaper for this syntax: a `{{` in it renders as itself
instead of running (`{{ with query "..." }}` would query Prometheus; `{{ oops` would make
the whole rule file fail to load). Annotations the user writes as templates keep the
subset whose output the generated tests can predict, `{{ $labels.NAME }}` and
`{{ $value | printf "%.Nf" }}`; any other action there is refused at compile time
rather than emitted in a test that cannot pass.
"""

from __future__ import annotations

import re

_ACTION = re.compile(
    r"\{\{\s*(?:\$labels\.(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)"
    r'|\$value\s*\|\s*printf\s+"%\.(?P<digits>[0-9])f"'
    r'|(?P<open>"\{\{"))\s*\}\}'
)
# A template action whose output is a literal `{{`.
_OPEN = '{{ "{{" }}'


def literal(text: str) -> str:
    """`text` as template source that renders exactly as `text`. Only `{{` starts an
    action in Go templates; everything else, `}}` and `$` included, is literal."""
    return text.replace("{{", _OPEN)


SUPPORTED = '{{ $labels.NAME }} and {{ $value | printf "%.1f" }}'


def unsupported(text: str) -> str | None:
    """The first template action in `text` we cannot render, or None."""
    rest = _ACTION.sub("", text)
    start = rest.find("{{")
    if start < 0:
        return None
    end = rest.find("}}", start)
    return rest[start : end + 2 if end >= 0 else len(rest)]


# Grafana's provisioning reads rule annotations raw in every release from 10.2 to today,
# and a change proposed upstream (grafana#127214) expands braced references in them:
# `${VAR}`, `$__env{NAME}`, `$__file{/path}`. No spelling is literal in both (`$$` stays
# doubled in the raw releases), so annotation text holding one is refused; a bare `$`
# (`$labels`, `$5`) is literal in all of them.
_BRACED = re.compile(r"\$(?:\{|__[A-Za-z0-9_]*\{)")


def grafana_braced(text: str) -> str | None:
    """The first `${` or `$__name{` in `text`, which some Grafana releases would expand
    in an annotation; None if there is none."""
    found = _BRACED.search(text)
    return found[0] if found else None


def render(text: str, labels: dict[str, str], value: float) -> str:
    """`text` as Prometheus renders it for an alert with these labels and value. A label
    the alert lacks renders as Go's templates render a missing map key."""
    if "{{" not in text:  # most labels: nothing to expand (the generated tests' hot path)
        return text

    def action(match: re.Match[str]) -> str:
        if match["label"] is not None:
            return labels.get(match["label"], "<no value>")
        if match["open"] is not None:
            return "{{"
        return f"{value:.{int(match['digits'])}f}"

    return _ACTION.sub(action, text)


def to_grafana(text: str, ref_id: str) -> str:
    """The same annotation for a Grafana-managed rule, where `$value` is the text of all
    query values and the number of one query is `$values.<refId>.Value`."""

    def action(match: re.Match[str]) -> str:
        if match["digits"] is None:
            return match[0]
        return f'{{{{ printf "%.{match["digits"]}f" $values.{ref_id}.Value }}}}'

    return _ACTION.sub(action, text)
