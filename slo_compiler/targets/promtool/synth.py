"""Input series for generated promtool tests, synthesised from the SLO's own selectors.

A generated test must feed the rules series that their selectors really pick, and keep good
and bad events apart exactly as the selectors do: a good request must match `total` but not
`errors`. So label values are derived from the matchers: an example string for each regex
(built from Python's regex parse tree, then checked with a full match, which is how
Prometheus anchors its regexes), and a value that breaks one matcher where a series must
not match. Matching uses RE2, as Prometheus does: its syntax, and time linear in the
input, where Python's backtracking engine takes seconds growing fivefold per two
characters on `(x+x+)+y` against a long literal.

Each series carries two coefficients: how many of the period's events (`total`) and of its
bad events (`errors`) it counts, so one traffic profile drives every SLI shape.
"""

from __future__ import annotations

import re
import re._parser as sre  # the stdlib's regex parser: the parse tree an example is built from
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import re2

from ...rules.promql import Matcher, Selector, quote
from ...rules.sli import EventSli

# Values tried where a label must not match, or is only constrained negatively.
_FILLERS = ("200", "0", "x", "ok", "other", "GET")
_REPEAT_CAP = 3
# Characters tried for a negated class or literal; `example` keeps the first that matches.
_GUESSES = "x0a_-y"


@dataclass(frozen=True)
class Series:
    """One input series: its events are `total` x all events + `errors` x bad events."""

    metric: str
    labels: tuple[tuple[str, str], ...]
    total: int
    errors: int

    def notation(self) -> str:
        inner = ", ".join(f"{k}={quote(v)}" for k, v in self.labels)
        return f"{self.metric}{{{inner}}}"


def _example(nodes: Iterable[tuple[object, object]], variant: int) -> str | None:
    """A string the parsed pattern matches; `variant` picks other branches and classes."""
    out = []
    for op, arg in nodes:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))  # type: ignore[arg-type]
        elif name == "NOT_LITERAL":
            out.append(next(c for c in _GUESSES[variant % 6 :] + _GUESSES if c != chr(arg)))  # type: ignore[arg-type]
        elif name == "ANY":
            out.append(str(variant % 10))
        elif name == "IN":
            char = _class_member(arg, variant)  # type: ignore[arg-type]
            if char is None:
                return None
            out.append(char)
        elif name == "BRANCH":
            branches = arg[1]  # type: ignore[index]
            part = _example(branches[variant % len(branches)], variant)
            if part is None:
                return None
            out.append(part)
        elif name == "SUBPATTERN":
            part = _example(arg[-1], variant)  # type: ignore[index]
            if part is None:
                return None
            out.append(part)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg  # type: ignore[misc]
            count = min(max(low, 1), high, _REPEAT_CAP) if high else 0
            for _ in range(count):
                part = _example(sub, variant)
                if part is None:
                    return None
                out.append(part)
        elif name == "AT":
            continue
        else:  # back-references, look-arounds: not worth guessing
            return None
    return "".join(out)


def _class_member(items: list[tuple[object, object]], variant: int) -> str | None:
    """A character of a class. For a negated class this is a guess: `example` checks it."""
    if items and str(items[0][0]) == "NEGATE":
        return _GUESSES[variant % len(_GUESSES)]
    choices = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            choices.append(chr(arg))  # type: ignore[arg-type]
        elif name == "RANGE":
            choices.append(chr(arg[variant % 2]))  # type: ignore[index]
        elif name == "CATEGORY":
            choices.append({"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a"}.get(str(arg), " "))
    return choices[variant % len(choices)] if choices else None


@lru_cache(maxsize=1024)
def _compiled(regex: str) -> re2._Regexp | None:
    """The RE2 program of a Prometheus regex, None when RE2 refuses it."""
    try:
        return re2.compile(regex)
    except re2.error:
        return None


def full_match(regex: str, text: str) -> bool:
    """Whether `regex` matches the whole of `text`, in time linear in `text`."""
    program = _compiled(regex)
    return program is not None and program.fullmatch(text) is not None


@lru_cache(maxsize=1 << 12)
def example(regex: str, variant: int = 0) -> str | None:
    """A string `regex` fully matches, or None if we cannot construct one. Tries a few
    variants from `variant` on, since a guess for a negated class can miss. Cached: every
    scenario of an SLO synthesises the same series, and parsing a regex costs more than
    the rest of a series' synthesis."""
    try:
        tree = sre.parse(regex)
    except re.error:
        return None
    for v in range(variant, variant + 6):
        text = _example(tree, v)
        if text is not None and full_match(regex, text):
            return text
    return None


def matches(matcher: Matcher, value: str) -> bool:
    """Whether a label value passes one matcher; a missing label is the empty string."""
    if matcher.op in ("=", "!="):
        hit = value == matcher.value
    elif _compiled(matcher.value) is None:
        return False
    else:
        hit = full_match(matcher.value, value)
    return hit if matcher.op in ("=", "=~") else not hit


def _candidates(matchers: list[Matcher], variant: int) -> list[str]:
    found = []
    for m in matchers:
        if m.op == "=":
            found.append(m.value)
        elif m.op == "=~":
            text = example(m.value, variant)
            if text is not None:
                found.append(text)
    return [*found, *_FILLERS]


def value_for(
    matchers: list[Matcher], variant: int = 0, breaking: Matcher | None = None
) -> str | None:
    """A label value passing every matcher (and failing `breaking`, if given)."""
    pool = _candidates(matchers, variant)
    if breaking is not None and breaking.op in ("!=", "!~"):
        # Failing a negative matcher means being what it excludes.
        excluded = breaking.value if breaking.op == "!=" else example(breaking.value, variant)
        if excluded is not None:
            pool.insert(0, excluded)
    for candidate in pool:
        if all(matches(m, candidate) for m in matchers) and (
            breaking is None or not matches(breaking, candidate)
        ):
            return candidate
    return None


def _by_label(selectors: Iterable[Selector]) -> dict[str, list[Matcher]]:
    found: dict[str, list[Matcher]] = {}
    for selector in selectors:
        for m in selector.matchers:
            found.setdefault(m.name, []).append(m)
    return found


def labels_for(
    selectors: list[Selector], fixed: dict[str, str], breaking: Matcher | None = None
) -> dict[str, str] | None:
    """Labels for a series every selector picks (failing `breaking`), with `fixed` labels
    (the grouping values) kept as they are. None if no such labels were found."""
    constraints = _by_label(selectors)
    if breaking is not None:
        constraints.setdefault(breaking.name, [])
    labels = dict(fixed)
    for name, matchers in sorted(constraints.items()):
        breaks_here = breaking if breaking is not None and breaking.name == name else None
        if name in fixed:
            if not all(matches(m, fixed[name]) for m in matchers) or (
                breaks_here and matches(breaks_here, fixed[name])
            ):
                return None
            continue
        value = value_for(matchers, 0, breaks_here)
        if value is None:
            return None
        if value:  # an empty value is an absent label
            labels[name] = value
    return labels


def group_values(
    sli: EventSli, group_by: tuple[str, ...], count: int
) -> list[dict[str, str]] | None:
    """`count` distinct value sets for the grouping labels, each allowed by the SLI's
    selectors (None if the selectors leave fewer, e.g. `uri="/only/one"`)."""
    constraints = _by_label([s for s in (sli.total, sli.errors, sli.good) if s is not None])
    options: dict[str, list[str]] = {}
    for name in group_by:
        matchers = constraints.get(name, [])
        seen: list[str] = []
        for variant in range(count + 4):
            value = value_for(matchers, variant) if matchers else f"{name}-{variant + 1}"
            if value and value not in seen:
                seen.append(value)
        if not seen:
            return None
        options[name] = seen
    groups = [{name: vals[i % len(vals)] for name, vals in options.items()} for i in range(count)]
    return groups if len({tuple(sorted(g.items())) for g in groups}) == count else None


def _series(metric: str, labels: dict[str, str], total: int, errors: int) -> Series:
    return Series(metric, tuple(sorted(labels.items())), total, errors)


def _split(
    total: Selector, part: Selector, group: dict[str, str], part_is_bad: bool
) -> list[Series] | None:
    """Series for `total` and a `part` of it (the bad or the good events)."""
    sign = (0, 1) if part_is_bad else (1, -1)
    rest = (1, -1) if part_is_bad else (0, 1)
    if part.metric != total.metric:
        t = labels_for([total], group)
        p = labels_for([part], group)
        if t is None or p is None:
            return None
        return [_series(total.metric, t, 1, 0), _series(part.metric, p, *sign)]
    inside = labels_for([total, part], group)
    if inside is None:
        return None
    for matcher in part.matchers:
        if matcher in total.matchers:
            continue
        others = Selector(part.metric, tuple(m for m in part.matchers if m != matcher))
        outside = labels_for([total, others], group, breaking=matcher)
        if outside is not None:
            return [_series(part.metric, inside, *sign), _series(total.metric, outside, *rest)]
    return None


def series_for(sli: EventSli, group: dict[str, str]) -> list[Series] | None:
    """Input series for one group of an event SLI, or None if the selectors defeat us.

    For a latency SLI the good events are a histogram bucket: two instances publish it,
    one writing `le` as Micrometer does ("300.0"), one as Prometheus 3 does ("300"), so a
    rule that matched only one spelling would see half the good events and fail the test.
    """
    if sli.le:
        assert sli.good is not None
        out = []
        for i, spelling in enumerate(sorted(sli.le, reverse=True)):
            instance = {**group, "instance": f"slo-test-{i + 1}:8080"}
            count = labels_for([sli.total], instance)
            bucket = labels_for([sli.good], instance)
            if count is None or bucket is None:
                return None
            bucket["le"] = spelling
            out += [_series(sli.total.metric, count, 1, 0), _series(sli.good.metric, bucket, 1, -1)]
        return out
    if sli.errors is not None:
        return _split(sli.total, sli.errors, group, part_is_bad=True)
    assert sli.good is not None
    return _split(sli.total, sli.good, group, part_is_bad=False)
