"""A stand-in for the ticketing platform, for load tests and the demo: a real HTTP service
with the platform's endpoints, behaviour and Micrometer-shaped metrics.

* `POST /api/queue/join` gives a ticket; `GET /api/queue/status/<ticket>` says `waiting`
  until the ticket's admission time, then `admitted`, and records the wait in
  `urr_queue_wait_seconds` (a histogram, as the platform plans it);
* `POST /api/seats/reserve` with `{"seat": N}` locks a seat for a while: a buyer who finds
  it locked gets 409, a real conflict under contention;
* `POST /api/payments/process` and `/api/payments/confirm` answer 200;
* every request is counted in `http_server_requests_seconds` with the labels Spring's
  Micrometer gives it (method, uri, status, outcome, exception, error, application) and
  the `service` label the platform's Prometheus adds per target.

Faults, switched with `POST /faults` (`{"payment_5xx": true}`) or `--fault` at start:
`payment_5xx` (a storm of 503s from payments), `lock_leak` (locks are never released:
every reservation conflicts), `slow_queue` (admission takes `--slow-wait` seconds).

Run: `python loadtest/simulator.py --port 8080 [--fault payment_5xx]`; metrics at
`/metrics`. Not part of the installed package: it is test and demo equipment.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Histogram, generate_latest

FAULTS = ("payment_5xx", "lock_leak", "slow_queue")
# Micrometer's default boundaries around the latencies this service produces (seconds).
HTTP_BUCKETS = (0.001, 0.004194304, 0.016777216, 0.067108864, 0.268435456, 1.073741824, 30.0)
QUEUE_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
SERVICES = {
    "/api/queue/": "queue-service",
    "/api/seats/": "ticket-service",
    "/api/payments/": "payment-service",
}
HTTP_LABELS = ("service", "application", "method", "uri", "status", "outcome", "exception", "error")


class Platform:
    """The services' state: queue tickets, seat locks, faults, and the metrics."""

    def __init__(self, admit_after: float, lock_hold: float, slow_wait: float) -> None:
        self.registry = CollectorRegistry()
        self.http = Histogram(
            "http_server_requests_seconds",
            "Duration of HTTP server request handling",
            HTTP_LABELS,
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "urr_queue_wait_seconds",
            "Time from joining the waiting queue to admission",
            ("service",),
            buckets=QUEUE_BUCKETS,
            registry=self.registry,
        )
        # Micrometer registers a timer when its bean is created: the series exist, at 0,
        # before the first admission.
        self.queue_wait.labels(service="queue-service")
        self.faults = dict.fromkeys(FAULTS, False)
        self.admit_after, self.lock_hold, self.slow_wait = admit_after, lock_hold, slow_wait
        self.tickets: dict[str, tuple[float, float]] = {}  # ticket -> (joined, admitted at)
        self.locks: dict[int, float] = {}  # seat -> locked until
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def record(self, method: str, uri: str, status: int, seconds: float) -> None:
        service = next(
            (s for prefix, s in SERVICES.items() if uri.startswith(prefix)), "gateway-service"
        )
        outcome = {2: "SUCCESS", 4: "CLIENT_ERROR", 5: "SERVER_ERROR"}.get(status // 100, "UNKNOWN")
        self.http.labels(
            service=service,
            application=service,
            method=method,
            uri=uri,
            status=str(status),
            outcome=outcome,
            exception="none",
            error="none",
        ).observe(seconds)

    def join(self) -> dict[str, object]:
        wait = self.slow_wait if self.faults["slow_queue"] else self.admit_after
        now = time.time()
        with self.lock:
            ticket = f"t{next(self.ids)}"
            self.tickets[ticket] = (now, now + wait * random.uniform(0.5, 1.0))
        return {"ticket": ticket}

    def status(self, ticket: str) -> tuple[int, dict[str, object]]:
        with self.lock:
            found = self.tickets.get(ticket)
            if found is None:
                return 404, {"error": "no such ticket"}
            joined, admitted = found
            if time.time() < admitted:
                return 200, {"state": "waiting"}
            del self.tickets[ticket]
        self.queue_wait.labels(service="queue-service").observe(admitted - joined)
        return 200, {"state": "admitted"}

    def reserve(self, seat: int) -> int:
        now = time.time()
        with self.lock:
            if self.locks.get(seat, 0) > now:
                return 409
            hold = float("inf") if self.faults["lock_leak"] else self.lock_hold
            self.locks[seat] = now + hold
        return 200

    def payment(self) -> int:
        return 503 if self.faults["payment_5xx"] else 200


def handler(platform: Platform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: a load test makes thousands of requests."""

        def _answer(self, status: int, body: object, content: bytes | None = None) -> None:
            data = content if content is not None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if content else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, object]:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                return json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return {}

        def do_GET(self) -> None:
            start = time.perf_counter()
            if self.path == "/metrics":
                self._answer(200, None, generate_latest(platform.registry))
                # Spring counts its actuator scrapes too: the metric exists from the start.
                platform.record("GET", "/metrics", 200, time.perf_counter() - start)
                return
            if self.path.startswith("/api/queue/status/"):
                status, body = platform.status(self.path.rsplit("/", 1)[1])
                platform.record(
                    "GET", "/api/queue/status/{ticket}", status, time.perf_counter() - start
                )
                self._answer(status, body)
                return
            self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            start = time.perf_counter()
            body = self._body()
            if self.path == "/faults":
                platform.faults.update({k: bool(v) for k, v in body.items() if k in FAULTS})
                self._answer(200, platform.faults)
                return
            if self.path == "/api/queue/join":
                status, answer = 200, platform.join()
            elif self.path == "/api/seats/reserve":
                status = platform.reserve(int(body.get("seat", 0)))  # type: ignore[call-overload]
                answer = {"reserved": status == 200}
            elif self.path in ("/api/payments/process", "/api/payments/confirm"):
                status = platform.payment()
                answer = {"ok": status == 200}
            else:
                self._answer(404, {"error": "not found"})
                return
            platform.record("POST", self.path, status, time.perf_counter() - start)
            self._answer(status, answer)

    return Handler


class Server(ThreadingHTTPServer):
    """A listen backlog of a real app server's size (Tomcat accepts 100): with the
    standard library's 5, a few load-test users that each open a connection per request
    overflow it, the kernel drops connection attempts, and each retries a second later:
    requests a second slow and Prometheus scrapes timed out (a gap the gate fails on)."""

    request_queue_size = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fault", action="append", choices=FAULTS, default=[])
    parser.add_argument("--admit-after", type=float, default=0.5, help="seconds in the queue")
    parser.add_argument("--lock-hold", type=float, default=0.2, help="seconds a seat stays locked")
    parser.add_argument("--slow-wait", type=float, default=20.0, help="queue wait when slow")
    args = parser.parse_args()
    platform = Platform(args.admit_after, args.lock_hold, args.slow_wait)
    platform.faults.update(dict.fromkeys(args.fault, True))
    server = Server((args.host, args.port), handler(platform))
    print(
        f"simulator on http://{args.host}:{args.port} (faults: {args.fault or 'none'})", flush=True
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
