"""The ticketing platform's three flows through the gateway, for Locust:

* waiting queue: join the queue for an event, poll the position until admitted (what the
  queue-wait SLO measures);
* seat reservation: many buyers on few seats, so lock conflicts (409) happen by design
  (what the seat-lock conflict SLO bounds); a 409 is an expected answer, not a failure;
* payment: process, then confirm (what the payment failure SLO measures).

Host, users, rate and duration come from Locust's own options, e.g.

    locust -f loadtest/locustfile.py --headless -H http://127.0.0.1:8080 -u 20 -r 20 -t 1m

and gated on the SLOs with `slo-compiler loadtest run --prometheus URL -- locust ...`.
Client-side, slo_thresholds.py (generated from loadtest/slos by `slo-compiler loadtest
thresholds --tool locust`) fails the run at quit when a request's bad share breaks its
SLO's budget, with a log line per failed threshold.
Paths and the number of seats are environment variables (the platform's exact queue paths
are configurable): QUEUE_JOIN_PATH, QUEUE_STATUS_PATH, SEATS_RESERVE_PATH,
PAYMENT_PROCESS_PATH, PAYMENT_CONFIRM_PATH, SEATS.
"""

from __future__ import annotations

import os
import random
import time

import slo_thresholds  # noqa: F401 - registers the SLOs' client-side thresholds
from locust import HttpUser, between, task

QUEUE_JOIN = os.environ.get("QUEUE_JOIN_PATH", "/api/queue/join")
QUEUE_STATUS = os.environ.get("QUEUE_STATUS_PATH", "/api/queue/status/{ticket}")
SEATS_RESERVE = os.environ.get("SEATS_RESERVE_PATH", "/api/seats/reserve")
PAYMENT_PROCESS = os.environ.get("PAYMENT_PROCESS_PATH", "/api/payments/process")
PAYMENT_CONFIRM = os.environ.get("PAYMENT_CONFIRM_PATH", "/api/payments/confirm")
SEATS = int(os.environ.get("SEATS", "20"))
MAX_POLLS = 100
POLL_EVERY = 0.1


class Buyer(HttpUser):
    wait_time = between(0.01, 0.05)

    @task(2)
    def wait_in_queue(self) -> None:
        joined = self.client.post(QUEUE_JOIN, json={"event": 1}, name="queue join")
        if joined.status_code != 200:
            return
        ticket = joined.json()["ticket"]
        for _ in range(MAX_POLLS):
            status = self.client.get(QUEUE_STATUS.format(ticket=ticket), name="queue status")
            if status.status_code != 200 or status.json().get("state") == "admitted":
                return
            time.sleep(POLL_EVERY)

    @task(3)
    def reserve_a_seat(self) -> None:
        with self.client.post(
            SEATS_RESERVE,
            json={"seat": random.randrange(SEATS)},
            name="seat reserve",
            catch_response=True,
        ) as response:
            if response.status_code == 409:
                response.success()  # a conflict under contention is the system working

    @task(3)
    def pay(self) -> None:
        if self.client.post(PAYMENT_PROCESS, json={}, name="payment process").status_code == 200:
            self.client.post(PAYMENT_CONFIRM, json={}, name="payment confirm")
