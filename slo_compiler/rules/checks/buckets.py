"""A latency threshold must be a bucket boundary the histogram publishes (rules.buckets)."""

from __future__ import annotations

from ...diagnostics import Code, Diagnostic
from .. import buckets, burnrate
from ..burnrate import decimal_str
from .slos import CheckedFile


def check_buckets(files: list[CheckedFile], configured: dict[str, list[float]]) -> list[Diagnostic]:
    """A latency threshold must be a bucket boundary the histogram publishes, where those
    are known (see buckets): otherwise `le="<threshold>"` matches nothing."""
    out = []
    for checked in files:
        for c in checked.slos:
            latency = c.slo.sli.latency
            if latency is None:
                continue
            counters = c.query.counters
            if counters is None:
                continue
            metric = counters.total.metric.removesuffix("_count")
            known = buckets.published(metric, configured)
            threshold = burnrate.to_decimal(latency.threshold)
            if known is None or threshold in known:
                continue
            around = " and ".join(decimal_str(b) for b in buckets.nearest(threshold, known))
            how = (
                "management.metrics.distribution.slo.http.server.requests="
                f"{decimal_str(threshold * 1000)}ms in the service's Spring config"
                if metric == buckets.MICROMETER_HTTP_SERVER
                else "a bucket at it"
            )
            out.append(
                checked.source.diagnostic(
                    ("slos", c.index, "sli", "latency", "threshold"),
                    Code.UNPUBLISHED_BUCKET,
                    f"threshold {decimal_str(threshold)}s is not a bucket boundary of {metric} "
                    f"(the nearest it publishes: {around}), so no bucket counts the good "
                    f"events: use one of those, or publish {decimal_str(threshold)}s ({how}) "
                    "and list it under histogram_buckets in the config",
                )
            )
    return out
