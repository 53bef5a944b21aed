"""The Prometheus HTTP API, through requests, believed only once checked.

* One deadline per command: every request gets what is left of it, and a server that
  trickles its answer cannot hold the run past it (the request runs on a helper thread the
  command stops waiting for).
* A cap on an answer's size, read in chunks: a broken proxy cannot fill the memory.
* Every answer's shape is checked (status, data, result type, each series' labels and
  samples, finite values): a malformed answer is a QueryFailed naming the query, never a
  KeyError that would read as a violated SLO.
* Credentials stay secret: userinfo in the URL is sent (as requests sends it) but never
  printed (`display`), header values are never printed, and redirects are refused rather
  than followed with the headers to another address.

Errors are one family with a message fit for a user: the server could not be reached (or
not within the deadline), or it refused or garbled a query.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..base.durations import format_duration
from ..diagnostics import printable

T = TypeVar("T")
Labels = dict[str, str]
Samples = list[tuple[float, float]]

# An answer larger than this is refused: a range query at the chunk limit over a few
# hundred series is a few MiB.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# No single request waits longer than this for its connection (the deadline bounds the rest).
CONNECT_TIMEOUT = 10.0
_CHUNK = 64 * 1024


def unreachable(err: requests.RequestException) -> str:
    """What a failed request means and what to do, in the user's words (never the HTTP
    library's exception text, which can carry the URL's password)."""
    if isinstance(err, requests.exceptions.SSLError):
        return "the TLS handshake failed: give the server's CA bundle with --ca"
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "no answer to the connection (a firewall, or a wrong host): check the URL"
    if isinstance(err, requests.exceptions.ConnectionError) and not isinstance(
        err, requests.exceptions.ReadTimeout
    ):
        return (
            "cannot connect (nothing listens there): is Prometheus running, and are the "
            "URL's host and port its own (Prometheus listens on 9090 by default)?"
        )
    if isinstance(err, requests.exceptions.Timeout):
        return "no answer within --timeout: a slow server, or raise --timeout"
    return f"the request failed ({type(err).__name__})"


class _Printed(Exception):
    """An error whose message quotes the server (its error text, a redirect's Location):
    made printable once, here, whatever prints it (a terminal, a CI log)."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


class PrometheusUnreachable(_Printed):
    """No answer from the server (connection refused, TLS, the deadline spent)."""


class QueryFailed(_Printed):
    """The server answered a query with an error, or with something that is no answer."""


def redact(url: str) -> str:
    """`url` with any user and password, and every query parameter's value (`?token=`),
    replaced, for every place a URL is printed; a URL that does not parse (a broken IPv6
    literal) loses everything from its user part on."""
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}{sep}***" if sep else "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{pair.partition('=')[0]}=***" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query, fragment=""))


def _brief(expr: str) -> str:
    """A query named in one line of an error message."""
    flat = " ".join(expr.split())
    return flat if len(flat) <= 120 else flat[:117] + "..."


def _number(value: Any, what: str) -> float:
    """A finite float from a sample's value (Prometheus writes them as strings)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number) or isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a finite number")
    return number


def _labels(item: Any) -> Labels:
    if not isinstance(item, dict) or not isinstance(item.get("metric"), dict):
        raise ValueError("a series without its labels ('metric')")
    labels = item["metric"]
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise ValueError("labels that are not strings")
    return labels


def _sample(pair: Any) -> tuple[float, float]:
    if not isinstance(pair, list) or len(pair) != 2:
        raise ValueError(f"a sample {pair!r} that is not [time, value]")
    return _number(pair[0], "a time"), _number(pair[1], "a value")


def parse_vector(data: Any) -> list[tuple[Labels, float]]:
    """An instant query's data: (labels, value) per series; a scalar is one unlabelled."""
    if not isinstance(data, dict):
        raise ValueError("'data' is not an object")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        return [({}, _sample(result)[1])]
    if kind != "vector" or not isinstance(result, list):
        raise ValueError(f"expected a vector result, got {kind!r}")
    out = []
    for item in result:
        labels = _labels(item)
        out.append((labels, _sample(item.get("value"))[1]))
    return out


def parse_matrix(data: Any) -> list[tuple[Labels, Samples]]:
    """A range query's data: (labels, [(time, value)]) per series."""
    if not isinstance(data, dict):
        raise ValueError("'data' is not an object")
    kind, result = data.get("resultType"), data.get("result")
    if kind != "matrix" or not isinstance(result, list):
        raise ValueError(f"expected a matrix result, got {kind!r}")
    out = []
    for item in result:
        labels = _labels(item)
        values = item.get("values")
        if not isinstance(values, list):
            raise ValueError("a series without its samples ('values')")
        out.append((labels, [_sample(pair) for pair in values]))
    return out


def _body(raw: bytes) -> Any:
    """The `data` of a successful answer; ValueError for anything else."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ValueError("not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    if body.get("status") == "error":
        raise QueryFailed(f"{body.get('errorType', 'error')}: {body.get('error', '?')}")
    if body.get("status") != "success" or "data" not in body:
        raise ValueError("neither 'status: success' with 'data' nor an error")
    return body["data"]


@dataclass
class Client:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 120.0  # seconds for every request of the command together
    retries: int = 3
    ca_bundle: str | None = None
    max_bytes: int = MAX_ANSWER_BYTES

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.display = redact(self.url)
        self.deadline = time.monotonic() + self.timeout
        self.queries = 0
        self._session = requests.Session()
        retry = Retry(
            total=self.retries,
            backoff_factor=0.5,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            redirect=False,
            raise_on_status=False,
        )
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))
        self._session.headers.update(self.headers)
        if self.ca_bundle:
            self._session.verify = self.ca_bundle

    def spent(self) -> PrometheusUnreachable:
        """The error of a command whose --timeout is spent."""
        return PrometheusUnreachable(
            f"{self.display}: no answer within --timeout {format_duration(int(self.timeout))} "
            f"({self.queries} queries answered)"
        )

    def _fetch(self, path: str, params: dict[str, Any], left: float) -> tuple[int, bytes]:
        """One request (a query is POSTed, a label look-up is GET only), its answer read
        whole up to the size cap: (HTTP status, body). Runs on a helper thread."""
        get = not path.startswith("/api/v1/query")
        try:
            response = self._session.request(
                "GET" if get else "POST",
                f"{self.url}{path}",
                params=params if get else None,
                data=None if get else params,
                timeout=(min(CONNECT_TIMEOUT, left), left),
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as err:
            raise PrometheusUnreachable(f"{self.display}: {unreachable(err)}") from None
        with response:
            if response.is_redirect or 300 <= response.status_code < 400:
                where = redact(response.headers.get("Location", "?"))
                raise QueryFailed(
                    f"{self.display}{path}: HTTP {response.status_code}, a redirect to {where}: "
                    "not followed "
                    "(the headers would go with it); give the final URL as --prometheus"
                )
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise QueryFailed(
                            f"{path}: an answer over {self.max_bytes // 2**20} MiB, refused"
                        )
                    chunks.append(chunk)
            except requests.RequestException as err:
                raise PrometheusUnreachable(f"{self.display}: {unreachable(err)}") from None
            return response.status_code, b"".join(chunks)

    def _request(self, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        """_fetch within what is left of the deadline; the thread is abandoned past it."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.spent()
        answer: queue.Queue[tuple[tuple[int, bytes] | None, Exception | None]] = queue.Queue(1)

        def work() -> None:
            try:
                answer.put((self._fetch(path, params, left), None))
            except Exception as err:  # handed to the waiting thread, which raises it
                answer.put((None, err))

        threading.Thread(target=work, daemon=True, name="prometheus-query").start()
        try:
            got, error = answer.get(timeout=left)
        except queue.Empty:
            raise self.spent() from None
        if error is not None:
            raise error
        assert got is not None
        return got

    def _data(self, path: str, params: dict[str, Any]) -> Any:
        status, raw = self._request(path, params)
        what = params.get("query") or params.get("match[]", "")
        try:
            data = _body(raw)
        except ValueError as err:
            raise QueryFailed(
                f"query `{_brief(str(what))}`: HTTP {status}, not a Prometheus answer ({err})"
            ) from None
        self.queries += 1
        return data

    @staticmethod
    def _checked(expr: str, parse: Callable[[Any], T], data: Any) -> T:
        try:
            return parse(data)
        except ValueError as err:
            raise QueryFailed(f"query `{_brief(expr)}`: a malformed answer: {err}") from None

    def query(self, expr: str, at: float) -> list[tuple[Labels, float]]:
        """An instant query: (labels, value) per series."""
        data = self._data("/api/v1/query", {"query": expr, "time": at})
        return self._checked(expr, parse_vector, data)

    def samples_read(self, expr: str, at: float) -> int | None:
        """How many samples an instant query of `expr` reads (Prometheus' query
        statistics): what a rule of it costs at each evaluation. None where the server
        gives no statistics (VictoriaMetrics, some proxies)."""
        data = self._data("/api/v1/query", {"query": expr, "time": at, "stats": "all"})
        self._checked(expr, parse_vector, data)
        stats = data.get("stats") if isinstance(data, dict) else None
        samples = stats.get("samples") if isinstance(stats, dict) else None
        read = samples.get("totalQueryableSamples") if isinstance(samples, dict) else None
        if read is None:
            return None
        if not isinstance(read, int) or isinstance(read, bool) or read < 0:
            raise QueryFailed(f"query `{_brief(expr)}`: a malformed answer: samples read {read!r}")
        return read

    def samples(self, selector: str, at: float) -> list[tuple[Labels, Samples]]:
        """The raw samples of a range selector (`up{...}[10m]`) as stored, at their own
        timestamps: what a scrape interval is measured from."""
        data = self._data("/api/v1/query", {"query": selector, "time": at})
        return self._checked(selector, parse_matrix, data)

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[Labels, Samples]]:
        """A range query: (labels, [(time, value)]) per series."""
        params = {"query": expr, "start": start, "end": end, "step": step}
        data = self._data("/api/v1/query_range", params)
        return self._checked(expr, parse_matrix, data)

    def metric_names(self, selector: str, start: float, end: float) -> list[str]:
        """The metric names of the series `selector` matches in [start, end]: an index
        look-up (no samples read), for asking whether a selector is known at all."""
        params = {"match[]": selector, "start": start, "end": end}
        data = self._data("/api/v1/label/__name__/values", params)
        if not isinstance(data, list) or not all(isinstance(n, str) for n in data):
            raise QueryFailed(f"query `{_brief(selector)}`: a malformed answer: not names")
        return data
