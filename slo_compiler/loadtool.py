"""Client-side thresholds for load tools, from the same SLOs: `loadtest thresholds`.

A load tool can fail fast on what its client sees while the server-side gate (`verify`) has
the last word. Per SLO, from its `loadtest` block (or, for a ratio SLI over HTTP selectors,
the `uri`, `method` and `status` matchers):

* the final gate: the share of bad requests under the error budget (ratio SLIs), or the
  objective's percentile of response times under the threshold (latency SLIs);
* an early abort at the page-fast tier: more than its factor times the budget bad, judged
  once a short window of the test has run (k6's abortOnFail with delayAbortEval).

k6 gets a thresholds object (JSON, `JSON.parse(open(...))` in the script); Locust a module
the locustfile imports, which sets the exit code at quit. Text crosses into two languages
here, each through one function: k6's sub-metric keys (`k6_tag_value`) and Python
literals (`python_literal`).
"""

from __future__ import annotations

import json
import re
import re._parser as sre
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .burnrate import decimal_str
from .durations import format_duration
from .ir import SloPlan
from .promql import Matcher, Selector
from .sli import EventSli

DEFAULT_BAD_STATUS = "5.."
_K6_FORBIDDEN = re.compile(r"[,{}\x00-\x1f]|^\s|\s$")


@dataclass(frozen=True)
class ClientThreshold:
    """What a load tool checks for one SLO."""

    slo: str  # service/name
    kind: str  # "ratio" or "latency"
    requests: tuple[str, ...]
    method: str | None
    bad_status: str  # ratio: statuses that are bad
    budget: Decimal  # allowed share of bad (slow) requests
    page_share: Decimal | None  # page-fast: the share that aborts early (None: never < 100%)
    page_after: int  # seconds: page-fast's short window
    latency_ms: Decimal | None  # latency: the threshold
    k6_tag: str | None


def _literal_alternatives(regex: str) -> list[str] | None:
    """The strings a regex of literals and alternations matches (`/a/(b|c)`), or None
    when it matches anything else (a class, a repetition)."""

    def expand(items: Any) -> list[str] | None:
        out = [""]
        for op, arg in items:
            if op == sre.LITERAL:
                parts: list[str] | None = [chr(arg)]
            elif op == sre.SUBPATTERN:
                parts = expand(arg[-1])
            elif op == sre.BRANCH:
                branches = [expand(b) for b in arg[1]]
                if any(b is None for b in branches):
                    return None
                parts = [s for b in branches if b is not None for s in b]
            else:
                return None
            if parts is None:
                return None
            out = [a + b for a in out for b in parts]
        return out

    try:
        return expand(sre.parse(regex))
    except re.error:
        return None


def _values(selector: Selector | None, label: str) -> list[str] | None:
    matcher: Matcher | None = next(
        (m for m in (selector.matchers if selector else ()) if m.name == label), None
    )
    if matcher is None:
        return None
    if matcher.op == "=":
        return [matcher.value]
    if matcher.op == "=~":
        return _literal_alternatives(matcher.value)
    return None


def _status(selector: Selector | None) -> str | None:
    matcher = next((m for m in (selector.matchers if selector else ()) if m.name == "status"), None)
    if matcher is None or matcher.op not in ("=", "=~"):
        return None
    return re.escape(matcher.value) if matcher.op == "=" else matcher.value


def client_threshold(plan: SloPlan) -> ClientThreshold | str:
    """The SLO's client-side threshold, or why it has none."""
    query, block = plan.query, plan.loadtest
    slo = f"{plan.service}/{plan.name}"
    if not isinstance(query, EventSli):
        return f"{slo}: a raw SLI has no client-side equivalent"
    latency = bool(query.le)
    requests = list(block.requests) if block else None
    if requests is None and not latency:
        requests = _values(query.total, "uri")
    if not requests:
        return (
            f"{slo}: no loadtest block, and no uri matcher of literal values to take the "
            "request names from"
        )
    methods = _values(query.total, "method") or []
    method = block.method if block and block.method else (methods[0] if len(methods) == 1 else None)
    bad = (block.bad_status if block else None) or _status(query.errors) or DEFAULT_BAD_STATUS
    tier = next((t for t in plan.tiers if t.name == "page-fast"), None)
    share = tier.factor * plan.budget if tier else None
    return ClientThreshold(
        slo=slo,
        kind="latency" if latency else "ratio",
        requests=tuple(requests),
        method=method,
        bad_status=bad,
        budget=plan.budget,
        page_share=share if share is not None and share < 1 else None,
        page_after=tier.short_window if tier else 0,
        latency_ms=Decimal(query.le[0]) * 1000 if latency else None,
        k6_tag=block.k6_tag if block else None,
    )


def k6_tag_value(value: str) -> str:
    """A value inside a k6 sub-metric key (`metric{tag:value}`): k6 splits the braces on
    commas and does not unquote, so a value with `,`, `{`, `}`, a control character or
    edge spaces cannot be written; refused rather than written wrong."""
    if _K6_FORBIDDEN.search(value) or not value:
        raise ValueError(
            f"{value!r} cannot be a k6 tag value (no commas, braces, control characters or "
            "edge spaces)"
        )
    return value


def _percent(share: Decimal) -> str:
    return decimal_str((1 - share) * 100)


def k6_thresholds(items: list[ClientThreshold]) -> tuple[dict[str, list[Any]], list[str]]:
    """k6's `options.thresholds`: one key per sub-metric, every SLO's expressions on it
    together (k6 keeps only the last of a repeated key, silently); and the SLOs left out
    because a request name cannot be written in a key (give them a k6_tag)."""
    out: dict[str, list[Any]] = {}
    skipped = []
    for item in items:
        try:
            keys = _k6_keys(item)
        except ValueError as err:
            skipped.append(f"{item.slo}: {err}: give its loadtest block a k6_tag")
            continue
        if item.kind == "latency":
            assert item.latency_ms is not None
            final = f"p({_percent(item.budget)})<{decimal_str(item.latency_ms)}"
            early = (
                f"p({_percent(item.page_share)})<{decimal_str(item.latency_ms)}"
                if item.page_share is not None
                else None
            )
        else:
            final = f"rate<{decimal_str(item.budget)}"
            early = f"rate<{decimal_str(item.page_share)}" if item.page_share is not None else None
        for key in keys:
            expressions = out.setdefault(key, [])
            expressions.append(final)
            if early is not None:
                expressions.append(
                    {
                        "threshold": early,
                        "abortOnFail": True,
                        "delayAbortEval": format_duration(item.page_after),
                    }
                )
    return dict(sorted(out.items())), skipped


def _k6_keys(item: ClientThreshold) -> list[str]:
    """`http_req_failed{name:/a,method:POST}` per request name, or one key on the SLO's tag."""
    metric = "http_req_duration" if item.kind == "latency" else "http_req_failed"
    if item.k6_tag:
        name, _, value = item.k6_tag.partition("=")
        filters = [[f"{name}:{k6_tag_value(value)}"]]
    else:
        filters = [[f"name:{k6_tag_value(r)}"] for r in item.requests]
    if item.method:
        filters = [[*f, f"method:{k6_tag_value(item.method)}"] for f in filters]
    return [f"{metric}{{{','.join(f)}}}" for f in filters]


def python_literal(data: Any) -> str:
    """Data (str, int, float, list, dict) as Python source: repr escapes quotes,
    backslashes and newlines, so a request name cannot break out of its string."""
    return repr(data)


def _locust_data(items: list[ClientThreshold]) -> list[dict[str, Any]]:
    return [
        {
            "slo": i.slo,
            "kind": i.kind,
            "requests": list(i.requests),
            "method": i.method,
            "bad_status": i.bad_status,
            "budget": float(i.budget),
            "percentile": float(1 - i.budget),
            "latency_ms": None if i.latency_ms is None else float(i.latency_ms),
        }
        for i in items
    ]


_LOCUST_CODE = '''
import logging
import re

from locust import events

# THRESHOLDS

_bad = {}  # (slo, request) -> [requests, bad ones]


@events.request.add_listener
def _count(request_type, name, response=None, exception=None, **_kwargs):
    for t in THRESHOLDS:
        if t["kind"] != "ratio" or name not in t["requests"]:
            continue
        if t["method"] and request_type != t["method"]:
            continue
        status = str(getattr(response, "status_code", 0) or 0)
        bad = exception is not None and status == "0" or re.fullmatch(t["bad_status"], status)
        seen = _bad.setdefault((t["slo"], name), [0, 0])
        seen[0] += 1
        seen[1] += 1 if bad else 0


def failures(stats):
    """One message per threshold the run failed (ratio: bad share per request name, over
    the error budget; latency: the objective's percentile per request name, over the
    threshold)."""
    out = []
    for t in THRESHOLDS:
        for name in t["requests"]:
            if t["kind"] == "ratio":
                total, bad = _bad.get((t["slo"], name), [0, 0])
                if total and bad / total >= t["budget"]:
                    out.append(
                        f"{t['slo']}: {name}: {bad} of {total} requests bad "
                        f"({bad / total:.2%}), budget {t['budget']:.2%}"
                    )
                continue
            entries = [
                e
                for (n, method), e in stats.entries.items()
                if n == name and (not t["method"] or method == t["method"])
            ]
            for e in entries:
                if not e.num_requests:
                    continue
                took = e.get_response_time_percentile(t["percentile"])
                if took >= t["latency_ms"]:
                    out.append(
                        f"{t['slo']}: {name}: p({t['percentile'] * 100:g}) {took:g} ms, "
                        f"threshold {t['latency_ms']:g} ms"
                    )
    return out


@events.quitting.add_listener
def _gate(environment, **_kwargs):
    failed = failures(environment.stats)
    for message in failed:
        logging.error("SLO threshold failed: %s", message)
    if failed:
        environment.process_exit_code = 1
'''


def locust_module(items: list[ClientThreshold], sources: str) -> str:
    """A module for the locustfile to import (`import slo_thresholds`): it counts each
    SLO's requests as the SLO does (bad statuses, not Locust's failures) and sets the exit
    code at quit, with a log line per failed threshold."""
    header = (
        f'"""Client-side SLO thresholds for Locust, generated by slo-compiler from {sources}.\n\n'
        "Import it from the locustfile; regenerate with `slo-compiler loadtest thresholds "
        '--tool locust`."""\n'
    )
    data = "THRESHOLDS = " + python_literal(_locust_data(items)) + "\n"
    return header + _LOCUST_CODE.replace("# THRESHOLDS\n", data, 1)


def k6_text(items: list[ClientThreshold]) -> tuple[str, list[str]]:
    thresholds, skipped = k6_thresholds(items)
    return json.dumps(thresholds, indent=2) + "\n", skipped
