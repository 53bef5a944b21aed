"""The Prometheus HTTP API, through requests: timeouts, retries with backoff on the
answers a restarting or overloaded server gives, auth headers whose values are never
printed, and a CA bundle option. Errors are one exception type with a message fit for a
user, split by kind: the server could not be reached, or it refused a query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

Labels = dict[str, str]


class PrometheusUnreachable(Exception):
    """No answer from the server (connection refused, timeout, TLS)."""


class QueryFailed(Exception):
    """The server answered with an error for a query."""


@dataclass
class Client:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    retries: int = 3
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._session = requests.Session()
        retry = Retry(
            total=self.retries,
            backoff_factor=0.5,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
        )
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))
        self._session.headers.update(self.headers)
        if self.ca_bundle:
            self._session.verify = self.ca_bundle

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = self._session.post(f"{self.url}{path}", data=params, timeout=self.timeout)
        except requests.RequestException as err:
            raise PrometheusUnreachable(f"{self.url}: {type(err).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise QueryFailed(
                f"{path}: HTTP {response.status_code}, not a Prometheus answer"
            ) from None
        if body.get("status") != "success":
            raise QueryFailed(f"{body.get('errorType', 'error')}: {body.get('error', '?')}")
        return body["data"]

    def query(self, expr: str, at: float) -> list[tuple[Labels, float]]:
        """An instant query: (labels, value) per series."""
        data = self._get("/api/v1/query", {"query": expr, "time": at})
        if data.get("resultType") == "scalar":
            return [({}, float(data["result"][1]))]
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[tuple[Labels, list[tuple[float, float]]]]:
        """A range query: (labels, [(time, value)]) per series."""
        data = self._get(
            "/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step}
        )
        return [
            (r["metric"], [(float(t), float(v)) for t, v in r["values"]]) for r in data["result"]
        ]
