"""ConfigMaps within what `kubectl apply` accepts, at any number of services.

Client-side `kubectl apply` keeps each object's JSON (Go's, which writes `<`, `>` and `&`
as six-byte escapes) in its last-applied-configuration annotation, and the API server caps
an object's annotations at 256 KiB (a ConfigMap's data at 1 MiB): one ConfigMap of every
dashboard passed that at about 18 services. So each kind of file (rule files, alerting
files, dashboards) is packed into as many ConfigMaps as it needs, mounted into one folder
through a projected volume.

Which ConfigMap a file lands in must not depend on the other files, or adding a service
would rename the ConfigMaps of every other one (and roll every pod twice). A file's place
is a prefix of the SHA-256 of its name, as in a trie: all files sit in the base ConfigMap
while they fit; a ConfigMap that no longer fits is split by the next hex digit into up to
sixteen (`slo-grafana-dashboards-3`, then `-3a`, ...). Adding a file changes only the
ConfigMap it lands in (or splits that one); every other keeps its name and content.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# The API server's cap on an object's annotations (256 KiB): the last-applied copy of the
# object must fit, with room for the metadata kubectl adds (namespace, its own labels).
APPLY_LIMIT = 262_144
BOUND = APPLY_LIMIT - 12_288
# Past this many hex digits two names would need the same SHA-256 prefix: not a real case.
MAX_DEPTH = 16


# Go's encoding/json (kubectl's) writes these as six-byte escapes (\u003c, \u2028) where
# Python's json writes them as they are: `<`, `>`, `&` one byte each, the line and
# paragraph separators three.
_GO_ESCAPED = {"<": 5, ">": 5, "&": 5, "\u2028": 3, "\u2029": 3}
_GO_ESCAPED_RE = re.compile("[<>&\u2028\u2029]")


def go_json_size(text: str) -> int:
    """Bytes of `text` (compact JSON from Python's json, ensure_ascii off) as Go's
    encoding/json writes the same value: what kubectl puts in the annotation."""
    extra = sum(_GO_ESCAPED[c] for c in _GO_ESCAPED_RE.findall(text))
    return len(text.encode("utf-8")) + extra


def object_size(obj: dict[str, Any]) -> int:
    """Bytes of the object as kubectl stores it in the annotation: compact JSON, escaped
    as Go escapes it."""
    return go_json_size(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def member_size(key: str, data: bytes) -> int:
    """What a file adds to its ConfigMap's JSON: `"key":"escaped text",`."""
    text = data.decode("utf-8")
    return (
        go_json_size(json.dumps(key, ensure_ascii=False))
        + go_json_size(json.dumps(text, ensure_ascii=False))
        + 2
    )


def pack(sizes: dict[str, int], overhead: int) -> dict[str, list[str]]:
    """Hash prefix ('' for the base) -> the names of the files of one ConfigMap, whose
    JSON (`overhead` plus the files' `sizes`) is at most BOUND wherever a file fits alone
    at all (the caller reports the ones that do not). Sizes, not contents: packing a
    fleet's dashboards holds none of them."""

    def place(prefix: str, members: list[str]) -> dict[str, list[str]]:
        total = overhead + sum(sizes[k] for k in members)
        if len(members) <= 1 or len(prefix) >= MAX_DEPTH or total <= BOUND:
            return {prefix: members}
        groups: dict[str, list[str]] = {}
        for key in members:
            groups.setdefault(_digest(key)[len(prefix)], []).append(key)
        out: dict[str, list[str]] = {}
        for digit, group in sorted(groups.items()):
            out.update(place(prefix + digit, group))
        return out

    return place("", sorted(sizes)) if sizes else {}


def shard_name(base: str, prefix: str) -> str:
    return f"{base}-{prefix}" if prefix else base
