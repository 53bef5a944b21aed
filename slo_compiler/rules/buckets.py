"""Histogram bucket boundaries a platform publishes, for latency SLIs.

A latency SLI counts the requests in the bucket `le="<threshold>"`; when no bucket has
that boundary, the selector matches nothing and the SLO is blind (its SLI-missing alert
fires). Micrometer does not publish round numbers by default: with percentiles-histogram
on, a Spring service's `http_server_requests_seconds` has the fixed boundaries below
(1ms to 30s), plus any SLO boundaries the service configures
(`management.metrics.distribution.slo.http.server.requests=300ms,1s`). Where the
boundaries are known, a threshold must be one of them.
"""

from __future__ import annotations

from decimal import Decimal

# Micrometer's default timer histogram (PercentileHistogramBuckets between its default
# minimum 1ms and maximum 30s expected values), as Prometheus scrapes them.
MICROMETER_HTTP_SERVER = "http_server_requests_seconds"
_DEFAULTS_TEXT = """
    0.001 0.001048576 0.001398101 0.001747626 0.002097151 0.002446676 0.002796201
    0.003145726 0.003495251 0.003844776 0.004194304 0.005592405 0.006990506 0.008388607
    0.009786708 0.011184809 0.01258291 0.013981011 0.015379112 0.016777216 0.022369621
    0.027962026 0.033554431 0.039146836 0.044739241 0.050331646 0.055924051 0.061516456
    0.067108864 0.089478485 0.111848106 0.134217727 0.156587348 0.178956969 0.20132659
    0.223696211 0.246065832 0.268435456 0.357913941 0.447392426 0.536870911 0.626349396
    0.715827881 0.805306366 0.894784851 0.984263336 1.073741824 1.431655765 1.789569706
    2.147483647 2.505397588 2.863311529 3.22122547 3.579139411 3.937053352 4.294967296
    5.726623061 7.158278826 8.589934591 10.021590356 11.453246121 12.884901886
    14.316557651 15.748213416 17.179869184 22.906492245 28.633115306 30
"""
MICROMETER_DEFAULTS = tuple(Decimal(b) for b in _DEFAULTS_TEXT.split())


def published(metric: str, configured: dict[str, list[float]]) -> tuple[Decimal, ...] | None:
    """The boundaries `metric` is known to have (sorted), or None when unknown: Micrometer's
    defaults for the HTTP server histogram, plus what the config lists for the metric."""
    extra = [Decimal(repr(b)) for b in configured.get(metric, [])]
    base = MICROMETER_DEFAULTS if metric == MICROMETER_HTTP_SERVER else ()
    if not base and metric not in configured:
        return None
    return tuple(sorted({*base, *extra}))


def nearest(threshold: Decimal, boundaries: tuple[Decimal, ...]) -> list[Decimal]:
    """The published boundaries on either side of `threshold`."""
    below = [b for b in boundaries if b < threshold][-1:]
    above = [b for b in boundaries if b > threshold][:1]
    return below + above
